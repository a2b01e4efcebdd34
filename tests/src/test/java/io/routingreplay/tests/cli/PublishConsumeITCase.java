package io.routingreplay.tests.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.routingreplay.job.JobOptions;
import io.routingreplay.job.cli.Main;
import io.routingreplay.job.local.LocalPipeline;
import io.routingreplay.schemas.TokenRoutingEvent;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Properties;
import java.util.List;
import java.util.Set;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The user CLI against a running job: {@code publish} a JSONL file, {@code consume} the results with .npy files;
 * and the optional per-token stream topic.
 */
class PublishConsumeITCase {

    static final Path MODEL = Path.of("..", "fixtures", "qwen3-moe-tiny").toAbsolutePath().normalize();

    @Test
    void publishedRequestsComeBackThroughConsume(@TempDir Path dir) throws Exception {
        Path requests = dir.resolve("requests.jsonl");
        Files.write(requests, List.of(
                "{\"rid\":\"a\",\"prompt_text\":\"Hello there\",\"max_new_tokens\":3}",
                "{\"rid\":\"b/../x\",\"prompt_token_ids\":[1,2,3],\"max_new_tokens\":2}",
                "",
                "{\"rid\":\"c\",\"prompt_token_ids\":[5],\"max_new_tokens\":4,\"temperature\":0.7,\"seed\":3}"));
        Configuration conf = new Configuration();
        conf.set(JobOptions.MODEL_DIR, MODEL.toString());
        conf.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
        conf.set(JobOptions.ENGINE_THREADS, 1);
        conf.set(JobOptions.TOKEN_STREAM_TOPIC, "token-stream");
        try (LocalPipeline pipeline = LocalPipeline.start(conf)) {
            String b = pipeline.bootstrapServers();
            assertEquals(0, run("publish", "--bootstrap", b, "--topic", "prompts", requests.toString()));
            Path out = dir.resolve("results.jsonl");
            Path npy = dir.resolve("npy");
            assertEquals(0, run("consume", "--bootstrap", b, "--topic", "results", "--output", out.toString(),
                    "--npy-dir", npy.toString(), "--model", MODEL.toString(), "--max", "3", "--idle-seconds", "120"));
            List<String> lines = Files.readAllLines(out);
            assertEquals(3, lines.size());
            ObjectMapper json = new ObjectMapper();
            Set<String> rids = new HashSet<>();
            for (String line : lines) {
                JsonNode n = json.readTree(line);
                rids.add(n.get("rid").asText());
                JsonNode routing = n.get("routing");
                assertEquals(n.get("prompt_token_ids").size() + n.get("output_token_ids").size() - 1,
                        routing.get("num_tokens").asInt());
                assertTrue(n.get("output_text").isTextual(), "text decoded with the model's tokenizer");
            }
            assertEquals(Set.of("a", "b/../x", "c"), rids);
            assertTokenStreamCoversEveryRecord(b, lines, json);
            try (var files = Files.list(npy)) {
                List<Path> written = files.toList();
                assertEquals(3, written.size());
                for (Path f : written) {
                    assertEquals(npy, f.getParent(), "a rid cannot place a file outside --npy-dir");
                    byte[] bytes = Files.readAllBytes(f);
                    assertEquals((byte) 0x93, bytes[0]);
                    assertEquals("NUMPY", new String(bytes, 1, 5, StandardCharsets.US_ASCII));
                }
            }
        }
    }

    /** The optional per-token topic carries each request's events, contiguous, adding up to its record. */
    static void assertTokenStreamCoversEveryRecord(String bootstrap, List<String> resultLines, ObjectMapper json)
            throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("isolation.level", "read_committed");
        p.put("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        p.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        Map<String, Integer> next = new HashMap<>();
        SingleObjectCodec<TokenRoutingEvent> codec = SingleObjectCodec.of(TokenRoutingEvent.class);
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> parts = c.partitionsFor("token-stream").stream()
                    .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            long last = System.currentTimeMillis();
            while (System.currentTimeMillis() - last < 3000) {
                for (ConsumerRecord<byte[], byte[]> rec : c.poll(Duration.ofMillis(200))) {
                    last = System.currentTimeMillis();
                    TokenRoutingEvent e = codec.decode(rec.value());
                    assertEquals(e.getRid(), new String(rec.key(), StandardCharsets.UTF_8), "keyed by rid");
                    int at = next.getOrDefault(e.getRid(), 0);
                    assertEquals(at, e.getFirstPosition(), e.getRid() + ": events in order, no gap");
                    next.put(e.getRid(), at + e.getNumRoutedTokens());
                }
            }
        }
        for (String line : resultLines) {
            JsonNode n = json.readTree(line);
            assertEquals(n.get("routing").get("num_tokens").asInt(), next.get(n.get("rid").asText()));
        }
    }

    static int run(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = Main.run(args, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
        if (rc != 0) {
            System.err.println(err.toString(StandardCharsets.UTF_8));
        }
        return rc;
    }
}
