package io.routingreplay.tests.robust;

import io.routingreplay.job.JobOptions;
import io.routingreplay.job.local.LocalPipeline;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.PromptEvent;
import io.routingreplay.schemas.codec.AvroCodec;
import io.routingreplay.schemas.codec.SchemaHistory;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Avro side of bad input, through Kafka and the running job: single-object PromptEvents of the current schema
 * and of v1 (a producer that never upgraded) are answered while garbage bytes, a truncated PromptEvent, a plain
 * (un-framed) PromptEvent, one of an unreleased schema version and a tombstone (null value) in the prompts topic
 * each become a dead letter (stage "decode", with their topic/partition/offset and a reason saying what was
 * expected) and the job keeps answering: the PromptEvent published after them comes back too.
 */
class AvroBadInputITCase {

    @Test
    void undecodableRecordsAreDeadLetteredAndGoodAvroIsAnswered() throws Exception {
        SingleObjectCodec<PromptEvent> codec = SingleObjectCodec.of(PromptEvent.class);
        byte[] good1 = codec.encode(PromptEvent.newBuilder().setRid("avro-1").setPromptTokenIds(List.of(5, 6, 7))
                .setMaxNewTokens(3).build());
        byte[] good2 = codec.encode(PromptEvent.newBuilder().setRid("avro-2").setPrompt("Hello there")
                .setMaxNewTokens(2).setTemperature(0.8f).setSeed(9L).build());
        byte[] fromV1 = v1Producer("avro-v1");
        byte[] plain = AvroCodec.of(PromptEvent.class).encode(PromptEvent.newBuilder().setRid("avro-plain")
                .setPromptTokenIds(List.of(5, 6)).build());
        byte[] unreleased = good1.clone();
        unreleased[9] ^= 0x01; // a fingerprint of no released PromptEvent
        byte[] garbage = new byte[64];
        new Random(1).nextBytes(garbage);
        garbage[0] = 0x05; // an odd first byte: never JSON, and a negative rid length for Avro
        byte[] truncated = Arrays.copyOf(good1, good1.length - 3);

        Configuration conf = new Configuration();
        conf.set(JobOptions.MODEL_DIR, RobustWorkload.modelDir().toString());
        conf.set(JobOptions.ENGINE_THREADS, 2);
        conf.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
        Map<Long, String> expectedDecodeFailure = new HashMap<>();
        List<LocalPipeline.Answer> answers;
        try (LocalPipeline pipeline = LocalPipeline.start(conf)) {
            pipeline.publish(good1, "avro-1");
            expectedDecodeFailure.put(pipeline.publish(garbage, null).offset(), "undecodable bytes");
            expectedDecodeFailure.put(pipeline.publish(truncated, "avro-1t").offset(), "undecodable bytes");
            expectedDecodeFailure.put(pipeline.publish(null, "tombstone").offset(), "empty record");
            pipeline.publish(fromV1, "avro-v1");
            expectedDecodeFailure.put(pipeline.publish(plain, "avro-plain").offset(),
                    "undecodable bytes: not a JSON object and not an Avro PromptEvent (not an Avro single-object "
                            + "PromptEvent: expected the header C3 01");
            expectedDecodeFailure.put(pipeline.publish(unreleased, "avro-unreleased").offset(),
                    "undecodable bytes: not a JSON object and not an Avro PromptEvent (unknown schema fingerprint");
            pipeline.publish(good2, "avro-2");
            answers = pipeline.awaitAnswers(Duration.ofMinutes(3), a -> { });
        }

        assertEquals(8, answers.size(), "one answer per record: " + answers);
        java.util.Set<String> answeredRids = new java.util.TreeSet<>();
        for (LocalPipeline.Answer a : answers) {
            if (a.result() != null) {
                answeredRids.add(a.result().getRid());
                assertTrue(a.result().getRid().startsWith("avro-"));
                assertEquals(a.result().getPromptTokenIds().size() + a.result().getOutputTokenIds().size() - 1,
                        a.result().getNumTokens());
                continue;
            }
            DeadLetter d = a.deadLetter();
            String reasonStart = expectedDecodeFailure.get(d.getSourceOffset());
            assertNotNull(reasonStart, "dead letter for an unexpected record: " + d);
            assertTrue(d.getReason().startsWith(reasonStart), d.getReason());
            assertEquals("decode", d.getStage());
            assertEquals(0, d.getSourcePartition());
        }
        assertEquals(java.util.Set.of("avro-1", "avro-2", "avro-v1"), answeredRids,
                "both current PromptEvents and the v1 one answered");
    }

    /** What a producer still on PromptEvent v1 publishes: Avro's own single-object encoder with the v1 schema. */
    private static byte[] v1Producer(String rid) {
        Schema v1 = SchemaHistory.of("PromptEvent").versions().get(0).schema();
        GenericRecord r = new GenericData.Record(v1);
        r.put("rid", rid);
        r.put("prompt_token_ids", List.of(8, 9, 10));
        r.put("max_new_tokens", 2);
        r.put("temperature", 0f);
        r.put("top_p", 1f);
        r.put("top_k", 0);
        r.put("stop_token_ids", List.of());
        r.put("ignore_eos", true);
        r.put("submitted_at", 1L);
        try {
            ByteBuffer b = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v1).encode(r);
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
