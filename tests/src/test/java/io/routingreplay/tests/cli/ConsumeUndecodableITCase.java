package io.routingreplay.tests.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.routingreplay.job.cli.Main;
import io.routingreplay.job.local.EmbeddedKafka;
import io.routingreplay.schemas.RoutingLayoutInfo;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.Timings;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13: {@code consume} never drops a record it cannot decode with a success status. On a real broker, a results
 * topic holding result, garbage (keyed by a rid), result: by default consume writes the first, stops at the garbage
 * naming results-0 offset 1 and its rid, exits 4 and commits nothing from it on (a second run stops there again);
 * with {@code --undecodable-output} it writes the garbage there with its partition, offset and bytes, consumes the
 * rest and exits 3.
 */
class ConsumeUndecodableITCase {

    private static final byte[] GARBAGE = {0x06, 0x61, 0x62, (byte) 0xff, 0x00, 0x13};
    private static EmbeddedKafka kafka;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start();
    }

    @AfterAll
    static void stop() throws Exception {
        kafka.close();
    }

    @Test
    void stopsAtTheUndecodableRecordNamingItAndCommitsNothingFromItOn(@TempDir Path dir) throws Exception {
        String topic = "results-stop";
        publishResultGarbageResult(topic);
        Path out = dir.resolve("results.jsonl");
        Run first = consume(topic, "g-stop", out);
        assertEquals(4, first.exit, first.err);
        assertTrue(first.err.contains("cannot decode the record at " + topic + "-0 offset 1 (rid 'bad-rid'): not a "
                + "RoutingResult: "), first.err);
        assertEquals(List.of("ok-1"), rids(out), "the result before it is written");
        assertEquals(1, committed("g-stop", topic), "committed up to the undecodable record, not past it");

        Run second = consume(topic, "g-stop", out);
        assertEquals(4, second.exit, "a second run stops at the same record");
        assertTrue(second.err.contains(topic + "-0 offset 1 (rid 'bad-rid')"), second.err);
        assertEquals(List.of(), rids(out));
        assertEquals(1, committed("g-stop", topic));
    }

    @Test
    void withUndecodableOutputWritesTheRecordThereAndGoesOn(@TempDir Path dir) throws Exception {
        String topic = "results-goon";
        publishResultGarbageResult(topic);
        Path out = dir.resolve("results.jsonl");
        Path bad = dir.resolve("undecodable.jsonl");
        Run run = consume(topic, "g-goon", out, "--undecodable-output", bad.toString());
        assertEquals(3, run.exit, run.err);
        assertEquals(List.of("ok-1", "ok-2"), rids(out));
        List<String> lines = Files.readAllLines(bad);
        assertEquals(1, lines.size());
        JsonNode n = new ObjectMapper().readTree(lines.get(0));
        assertEquals(topic, n.get("topic").asText());
        assertEquals(0, n.get("partition").asInt());
        assertEquals(1, n.get("offset").asLong());
        assertEquals("bad-rid", n.get("rid").asText());
        assertTrue(n.get("reason").asText().startsWith("not a RoutingResult: "), n.get("reason").asText());
        assertArrayEquals(GARBAGE, Base64.getDecoder().decode(n.get("value_base64").asText()));
        assertEquals(3, committed("g-goon", topic));
    }

    private record Run(int exit, String err) {
    }

    private static Run consume(String topic, String group, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("consume", "--bootstrap", kafka.bootstrapServers(), "--topic",
                topic, "--group", group, "--output", out.toString(), "--idle-seconds", "4"));
        args.addAll(List.of(extra));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = Main.run(args.toArray(String[]::new), new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(rc, err.toString(StandardCharsets.UTF_8));
    }

    private static void publishResultGarbageResult(String topic) throws Exception {
        kafka.createTopics(1, topic);
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        p.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        SingleObjectCodec<RoutingResult> codec = SingleObjectCodec.of(RoutingResult.class);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            producer.send(record(topic, "ok-1", codec.encode(result("ok-1")))).get();
            producer.send(record(topic, "bad-rid", GARBAGE)).get();
            producer.send(record(topic, "ok-2", codec.encode(result("ok-2")))).get();
        }
    }

    private static ProducerRecord<byte[], byte[]> record(String topic, String key, byte[] value) {
        return new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value);
    }

    /** A complete result of the tiny model's shape: 2 prompt + 2 output tokens, 3 routed × 4 layers × top-4. */
    private static RoutingResult result(String rid) {
        byte[] ids = new byte[3 * 4 * 4];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (byte) (i % 16);
        }
        return RoutingResult.newBuilder()
                .setRid(rid).setModel("qwen3-moe-tiny").setPromptTokenIds(List.of(9707, 11))
                .setOutputTokenIds(List.of(1879, 0)).setOutputLogprobs(List.of(-1.5f, -0.25f))
                .setFinishReason("length").setNumTokens(3).setRoutingIds(ByteBuffer.wrap(ids))
                .setRoutingShape(List.of(3, 4, 4)).setRoutingDtype("uint8")
                .setLayout(RoutingLayoutInfo.newBuilder().setMoeLayerIndices(List.of(0, 1, 2, 3)).setTopK(4)
                        .setNumExperts(16).setDtype("uint8").build())
                .setTimings(Timings.newBuilder().build()).setMetadata(Map.of()).build();
    }

    private static List<String> rids(Path out) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<String> rids = new ArrayList<>();
        for (String line : Files.readAllLines(out)) {
            rids.add(json.readTree(line).get("rid").asText());
        }
        return rids;
    }

    private static long committed(String group, String topic) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        try (Admin admin = Admin.create(p)) {
            OffsetAndMetadata m = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
                    .get(new TopicPartition(topic, 0));
            return m == null ? -1 : m.offset();
        }
    }
}
