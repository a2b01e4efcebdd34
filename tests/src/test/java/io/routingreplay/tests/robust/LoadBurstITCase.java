package io.routingreplay.tests.robust;

import io.routingreplay.job.JobOptions;
import io.routingreplay.job.local.LocalPipeline;
import io.routingreplay.schemas.RoutingResult;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 5 item 3: a burst of requests, all published at once, through the local pipeline (in-process Kafka + Flink
 * MiniCluster, CPU backend, tiny model): every record complete (num_tokens = prompt + output - 1), none lost, none
 * duplicated. It prints throughput and the heap peak (and writes them to target/load-burst.txt) for
 * docs/benchmarks.md; nothing here is timed. CI runs 500 requests; the documented full run is
 * {@code -Drobust.load.requests=5000}.
 */
class LoadBurstITCase {

    @Test
    void aBurstIsAnsweredCompletelyWithNoLossAndNoDuplicate() throws Exception {
        int n = Integer.getInteger("robust.load.requests", 500);
        List<RobustWorkload.Request> requests = RobustWorkload.generate("load", n, 3, 2, 6, 1, 3);
        Configuration conf = new Configuration();
        conf.set(JobOptions.MODEL_DIR, RobustWorkload.modelDir().toString());
        conf.set(JobOptions.ENGINE_THREADS, 2);
        conf.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofSeconds(1));
        conf.set(JobOptions.MAX_NUM_SEQS, 64);

        Map<String, Integer> answered = new HashMap<>();
        List<RoutingResult> results = new ArrayList<>();
        long seconds;
        long sampledPeak;
        long poolPeak;
        try (LocalPipeline pipeline = LocalPipeline.start(conf); HeapPeak heap = new HeapPeak()) {
            List<byte[]> values = new ArrayList<>(n);
            List<String> rids = new ArrayList<>(n);
            for (RobustWorkload.Request r : requests) {
                values.add(r.json());
                rids.add(r.rid());
            }
            long t0 = System.nanoTime();
            pipeline.publishAll(values, rids);
            pipeline.awaitAnswers(Duration.ofMinutes(20), x -> { });
            seconds = Math.max(1, (System.nanoTime() - t0) / 1_000_000_000L);
            // everything committed on the output topics, read again from the start after a quiet period: a
            // duplicate committed after the last expected answer would show up here
            for (LocalPipeline.Answer a : pipeline.drainAll(Duration.ofSeconds(3))) {
                if (a.deadLetter() != null) {
                    throw new AssertionError("dead letter under load: " + a.deadLetter());
                }
                answered.merge(a.result().getRid(), 1, Integer::sum);
                results.add(a.result());
            }
            sampledPeak = heap.sampledPeakBytes();
            poolPeak = heap.poolPeakBytes();
        }

        assertEquals(n, results.size(), "every request answered");
        assertTrue(answered.values().stream().allMatch(c -> c == 1), "no rid answered twice");
        long tokens = 0;
        for (RoutingResult r : results) {
            int expectedTokens = r.getPromptTokenIds().size() + r.getOutputTokenIds().size() - 1;
            assertEquals(expectedTokens, r.getNumTokens(), r.getRid() + ": num_tokens = prompt + output - 1");
            int bytesPerToken = r.getRoutingShape().get(1) * r.getRoutingShape().get(2)
                    * (r.getRoutingDtype().equals("uint8") ? 1 : 2);
            assertEquals((long) expectedTokens * bytesPerToken, r.getRoutingIds().remaining(),
                    r.getRid() + ": complete routing record");
            tokens += r.getOutputTokenIds().size();
        }
        String summary = String.format("load burst %s: %d requests (prompts 2-6 ids, 1-3 new tokens) answered in"
                        + " %d s = %.1f requests/s, %.1f output tokens/s; heap peak %d MiB sampled, %d MiB pool peaks"
                        + " (max heap %d MiB, %d cores)%n", Instant.now(), n, seconds, n / (double) seconds,
                tokens / (double) seconds, sampledPeak >> 20, poolPeak >> 20, HeapPeak.maxHeapBytes() >> 20,
                Runtime.getRuntime().availableProcessors());
        System.out.print(summary);
        Files.writeString(Path.of("target/load-burst.txt"), summary, StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    }
}
