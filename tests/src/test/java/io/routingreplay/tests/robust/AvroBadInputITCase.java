package io.routingreplay.tests.robust;

import io.routingreplay.job.JobOptions;
import io.routingreplay.job.local.LocalPipeline;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.PromptEvent;
import io.routingreplay.schemas.codec.AvroCodec;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

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
 * The Avro side of bad input, through Kafka and the running job: Avro PromptEvents are answered while garbage bytes,
 * a truncated PromptEvent and a tombstone (null value) in the prompts topic each become a dead letter (stage
 * "decode", with their topic/partition/offset) and the job keeps answering: the PromptEvent published after them
 * comes back too.
 */
class AvroBadInputITCase {

    @Test
    void undecodableRecordsAreDeadLetteredAndGoodAvroIsAnswered() throws Exception {
        AvroCodec<PromptEvent> codec = AvroCodec.of(PromptEvent.class);
        byte[] good1 = codec.encode(PromptEvent.newBuilder().setRid("avro-1").setPromptTokenIds(List.of(5, 6, 7))
                .setMaxNewTokens(3).build());
        byte[] good2 = codec.encode(PromptEvent.newBuilder().setRid("avro-2").setPrompt("Hello there")
                .setMaxNewTokens(2).setTemperature(0.8f).setSeed(9L).build());
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
            pipeline.publish(good2, "avro-2");
            answers = pipeline.awaitAnswers(Duration.ofMinutes(3), a -> { });
        }

        assertEquals(5, answers.size(), "one answer per record: " + answers);
        int results = 0;
        for (LocalPipeline.Answer a : answers) {
            if (a.result() != null) {
                results++;
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
        assertEquals(2, results, "both Avro PromptEvents answered");
    }
}
