package io.routingreplay.tests.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.job.cli.Main;
import io.routingreplay.job.local.EmbeddedKafka;
import io.routingreplay.schemas.RoutingLayoutInfo;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.Timings;
import io.routingreplay.schemas.codec.AvroCodec;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code consume} on a results topic that also holds records it cannot read (plain Avro without the single-object
 * header, a RoutingResult of an unreleased schema version): with {@code --undecodable-output} each is set aside with
 * where it is and why (the wire codec's reason), and the readable result is still written.
 */
class ConsumeWireFormatITCase {

    private static RoutingResult result(String rid) {
        return RoutingResult.newBuilder().setRid(rid).setModel("m").setPromptTokenIds(List.of(1, 2))
                .setOutputTokenIds(List.of(3)).setOutputLogprobs(List.of(-0.5f)).setFinishReason("length")
                .setNumTokens(2).setRoutingIds(ByteBuffer.wrap(new byte[] {0, 1, 2, 3}))
                .setRoutingShape(List.of(2, 1, 2)).setRoutingDtype("uint8")
                .setLayout(RoutingLayoutInfo.newBuilder().setMoeLayerIndices(List.of(0)).setTopK(2).setNumExperts(4)
                        .setDtype("uint8").build())
                .setTimings(Timings.newBuilder().build()).build();
    }

    @Test
    void unframedAndUnreleasedRecordsAreSetAsideWithTheirReasonAndTheRestIsWritten(@TempDir Path dir) throws Exception {
        byte[] good = SingleObjectCodec.of(RoutingResult.class).encode(result("good"));
        byte[] plain = AvroCodec.of(RoutingResult.class).encode(result("plain"));
        byte[] unreleased = good.clone();
        unreleased[2] ^= 0x01;
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            kafka.createTopics(1, "results");
            Properties p = new Properties();
            p.put("bootstrap.servers", kafka.bootstrapServers());
            p.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
            p.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
                for (byte[] value : List.of(plain, unreleased, good)) {
                    producer.send(new ProducerRecord<>("results", value)).get();
                }
            }
            Path out = dir.resolve("results.jsonl");
            Path undecodable = dir.resolve("undecodable.jsonl");
            ByteArrayOutputStream stdout = new ByteArrayOutputStream();
            ByteArrayOutputStream stderr = new ByteArrayOutputStream();
            int rc = Main.run(new String[] {"consume", "--bootstrap", kafka.bootstrapServers(), "--topic", "results",
                    "--output", out.toString(), "--undecodable-output", undecodable.toString(), "--max", "1",
                    "--idle-seconds", "60"}, new PrintStream(stdout), new PrintStream(stderr));
            String err = stderr.toString(StandardCharsets.UTF_8);
            assertEquals(3, rc, err); // some records were undecodable, each written with where and why
            List<String> lines = Files.readAllLines(out);
            assertEquals(1, lines.size());
            assertTrue(lines.get(0).contains("\"rid\":\"good\""), lines.get(0));
            List<String> bad = Files.readAllLines(undecodable);
            assertEquals(2, bad.size(), String.join("\n", bad));
            assertTrue(bad.get(0).contains("\"offset\":0") && bad.get(0).contains("not an Avro single-object "
                    + "RoutingResult: expected the header C3 01 and an 8-byte schema fingerprint, got 0A 70 6C 61 69 6E"),
                    bad.get(0));
            assertTrue(bad.get(1).contains("\"offset\":1") && bad.get(1).contains("unknown schema fingerprint ")
                    && bad.get(1).contains("not a released RoutingResult schema (released: v1 b6681a8f27aba982, "
                    + "v2 0fd0a73e65343473, v3 88eb8dafc1910019)"),
                    bad.get(1));
        }
    }
}
