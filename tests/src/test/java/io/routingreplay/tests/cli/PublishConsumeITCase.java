package io.routingreplay.tests.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.routingreplay.job.JobOptions;
import io.routingreplay.job.cli.Main;
import io.routingreplay.job.local.LocalPipeline;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The user CLI against a running job: {@code publish} a JSONL file, {@code consume} the results with .npy files. */
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

    static int run(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = Main.run(args, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
        if (rc != 0) {
            System.err.println(err.toString(StandardCharsets.UTF_8));
        }
        return rc;
    }
}
