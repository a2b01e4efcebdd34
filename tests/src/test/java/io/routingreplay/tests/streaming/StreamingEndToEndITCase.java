package io.routingreplay.tests.streaming;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.job.JobOptions;
import io.routingreplay.job.local.LocalPipeline;
import io.routingreplay.operators.results.RoutingResults;
import io.routingreplay.operators.validation.LimitOptions;
import io.routingreplay.runtime.cli.output.ResultJson;
import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.schemas.RoutingResult;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/**
 * The whole streaming path (in-process Kafka, Flink MiniCluster, exactly-once sinks, read_committed consumer) against
 * the engine alone: 300 requests of mixed prompt lengths and max_new_tokens, greedy and seeded sampling, published
 * at once so far more than 32 are generated together, including 5 requests sent a dozen times each under distinct
 * rids. Every result must be byte for byte what
 * {@code LLMEngine.generate} returns for the same request, and every rid must come back exactly once.
 */
class StreamingEndToEndITCase {

    static final Path MODEL = Path.of("..", "fixtures", "qwen3-moe-tiny").toAbsolutePath().normalize();
    static final int REQUESTS = 300;
    static final int VOCAB_USED = 150_000;

    @Test
    void threeHundredRequestsComeBackExactlyOnceIdenticalToOfflineGenerate() throws Exception {
        Random rnd = new Random(7);
        ObjectMapper json = new ObjectMapper();
        List<GenerationRequest> requests = new ArrayList<>();
        List<byte[]> lines = new ArrayList<>();
        List<String> rids = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            // The last 60 are 5 earlier requests sent a dozen times each under distinct rids.
            int base = i < REQUESTS - 60 ? i : (i - (REQUESTS - 60)) / 12;
            int[] prompt;
            int maxNew;
            if (base == i) {
                prompt = new int[1 + rnd.nextInt(i % 10 == 0 ? 120 : 24)];
                for (int t = 0; t < prompt.length; t++) {
                    prompt[t] = rnd.nextInt(VOCAB_USED);
                }
                maxNew = 1 + rnd.nextInt(12);
            } else {
                prompt = requests.get(base).promptTokenIds();
                maxNew = requests.get(base).params().maxNewTokens();
            }
            boolean sampled = base % 3 == 0;
            SamplingParams p = sampled
                    ? new SamplingParams(maxNew, 0.8f, 0.9f, 50, 1000L + base, List.of(), false, false)
                    : SamplingParams.greedy(maxNew);
            String rid = "r-" + i;
            requests.add(new GenerationRequest(rid, prompt, p));
            ObjectNode n = json.createObjectNode().put("rid", rid).put("max_new_tokens", maxNew);
            ArrayNode ids = n.putArray("prompt_token_ids");
            for (int t : prompt) {
                ids.add(t);
            }
            if (sampled) {
                n.put("temperature", 0.8).put("top_p", 0.9).put("top_k", 50).put("seed", 1000L + base);
            } else {
                n.put("temperature", 0); // the request default is 1.0, as generate's
            }
            lines.add(n.toString().getBytes(StandardCharsets.UTF_8));
            rids.add(rid);
        }

        Map<String, String> expected = new HashMap<>();
        try (LLMEngine engine = LLMEngine.create(EngineConfig.builder(MODEL).maxNumSeqs(64).threads(2).build())) {
            for (GenerationResult r : engine.generate(requests)) {
                expected.put(r.rid(), ResultJson.toLine(r, null));
            }
        }

        Configuration conf = new Configuration();
        conf.set(JobOptions.MODEL_DIR, MODEL.toString());
        conf.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(500));
        conf.set(JobOptions.ENGINE_THREADS, 2);
        conf.set(JobOptions.MAX_NUM_SEQS, 64);
        conf.set(JobOptions.WINDOW_MAX_BATCH, 48);
        conf.set(JobOptions.WINDOW_MAX_WAIT, Duration.ofMillis(50));
        conf.set(LimitOptions.MAX_IN_FLIGHT_PER_SUBTASK, 256);

        List<LocalPipeline.Answer> answers;
        try (LocalPipeline pipeline = LocalPipeline.start(conf)) {
            pipeline.publishAll(lines, rids);
            pipeline.awaitAnswers(Duration.ofMinutes(8), a -> { });
            // Re-read everything after a few more checkpoints: a record written twice would be there too.
            answers = pipeline.drainAll(Duration.ofSeconds(3));
        }

        Map<String, Integer> seen = new HashMap<>();
        List<RoutingResult> results = new ArrayList<>();
        for (LocalPipeline.Answer a : answers) {
            assertNotNull(a.result(), () -> "dead letter: " + a.deadLetter());
            seen.merge(a.result().getRid(), 1, Integer::sum);
            results.add(a.result());
        }
        assertEquals(REQUESTS, seen.size(), "every rid answered");
        seen.forEach((rid, n) -> assertEquals(1, n, "rid " + rid + " answered " + n + " times"));
        for (RoutingResult r : results) {
            GenerationResult g = RoutingResults.toGenerationResult(r);
            assertEquals(r.getPromptTokenIds().size() + r.getOutputTokenIds().size() - 1, r.getNumTokens());
            assertEquals(expected.get(r.getRid()), ResultJson.toLine(g, null), "rid " + r.getRid());
        }
        // The dozen copies agree with each other too (same request, same seed).
        Map<String, RoutingResult> byRid = new HashMap<>();
        results.forEach(r -> byRid.put(r.getRid(), r));
        for (int i = REQUESTS - 60; i < REQUESTS; i++) {
            RoutingResult copy = byRid.get("r-" + i);
            RoutingResult original = byRid.get("r-" + (i - (REQUESTS - 60)) / 12);
            assertEquals(original.getOutputTokenIds(), copy.getOutputTokenIds(), "r-" + i);
            assertEquals(original.getRoutingIds(), copy.getRoutingIds(), "r-" + i);
        }
        int overlap = maxConcurrent(results);
        assertTrue(overlap > 32, "only " + overlap + " requests were generated at the same time");
    }

    /** Most requests between admission and their last token at one instant (from the records' own timings). */
    static int maxConcurrent(List<RoutingResult> results) {
        List<long[]> edges = new ArrayList<>();
        for (RoutingResult r : results) {
            edges.add(new long[] {r.getTimings().getAdmittedAt(), 1});
            edges.add(new long[] {r.getTimings().getFinishedAt(), -1});
        }
        edges.sort((x, y) -> x[0] != y[0] ? Long.compare(x[0], y[0]) : Long.compare(x[1], y[1]));
        int now = 0;
        int max = 0;
        for (long[] e : edges) {
            now += (int) e[1];
            max = Math.max(max, now);
        }
        return max;
    }
}
