package io.routingreplay.tests.bench;

import io.routingreplay.job.JobOptions;
import io.routingreplay.job.local.LocalPipeline;
import io.routingreplay.operators.assembly.RoutingAssembler;
import io.routingreplay.operators.assembly.TimeoutClock;
import io.routingreplay.operators.validation.LimitOptions;
import io.routingreplay.schemas.RequestHeader;
import io.routingreplay.schemas.RoutingLayoutInfo;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

/**
 * Figures for docs/benchmarks.md "Streaming path" (a runner, not a test):
 * <ol>
 *   <li>latency the Kafka + Flink path adds over the engine alone: for each request, (consumer saw the committed
 *       result − producer sent the request) − (engine finished − engine admitted), p50/p99; requests sent one at a
 *       time, then as a burst;</li>
 *   <li>routing bytes per second the assembler sustains (heap state, one subtask), on a Qwen3-30B-A3B-shaped
 *       layout (48 MoE layers × top-8, uint8: 384 bytes per token).</li>
 * </ol>
 * Run: {@code java -cp "tests/target/test-classes:job/target/classes:job/target/lib/*:<test deps>"
 * io.routingreplay.tests.bench.StreamingPathBenchmark [sequential] [burst] [assembler]}; see docs/benchmarks.md.
 */
public final class StreamingPathBenchmark {

    static final Path MODEL = Path.of("fixtures", "qwen3-moe-tiny").toAbsolutePath();

    public static void main(String[] args) throws Exception {
        List<String> what = args.length == 0 ? List.of("sequential", "burst", "assembler") : List.of(args);
        if (what.contains("sequential") || what.contains("burst")) {
            pathLatency(what.contains("sequential"), what.contains("burst"));
        }
        if (what.contains("assembler")) {
            assemblerThroughput();
        }
    }

    static void pathLatency(boolean sequential, boolean burst) throws Exception {
        Configuration conf = new Configuration();
        conf.set(JobOptions.MODEL_DIR, MODEL.toString());
        conf.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(200));
        conf.set(JobOptions.WINDOW_MAX_WAIT, Duration.ofMillis(5));
        conf.set(JobOptions.ENGINE_THREADS, 2);
        conf.set(LimitOptions.MAX_IN_FLIGHT_PER_SUBTASK, 256);
        Random rnd = new Random(1);
        try (LocalPipeline p = LocalPipeline.start(conf)) {
            // warm-up: JIT, first checkpoint, transactions open
            send(p, rnd, "warm", 20);
            p.awaitAnswers(Duration.ofMinutes(5), a -> { });
            if (sequential) {
                Map<String, Long> sentAt = new HashMap<>();
                List<Sample> samples = new ArrayList<>();
                for (int i = 0; i < 60; i++) {
                    String rid = "seq-" + i;
                    sentAt.put(rid, System.currentTimeMillis());
                    p.publish(line(rnd, rid), rid);
                    p.awaitAnswers(Duration.ofMinutes(1), a -> {
                        if (a.result() != null && a.result().getRid().equals(rid)) {
                            samples.add(sample(a.result(), sentAt.get(rid), System.currentTimeMillis()));
                        }
                    });
                }
                report("one request at a time (60)", samples);
            }
            if (burst) {
                Map<String, Long> sentAt = new HashMap<>();
                List<String> rids = new ArrayList<>();
                List<byte[]> lines = new ArrayList<>();
                for (int i = 0; i < 300; i++) {
                    rids.add("burst-" + i);
                    lines.add(line(rnd, "burst-" + i));
                }
                long t0 = System.currentTimeMillis();
                for (String rid : rids) {
                    sentAt.put(rid, t0);
                }
                p.publishAll(lines, rids);
                List<Sample> samples = new ArrayList<>();
                p.awaitAnswers(Duration.ofMinutes(10), a -> {
                    if (a.result() != null && sentAt.containsKey(a.result().getRid())) {
                        samples.add(sample(a.result(), sentAt.get(a.result().getRid()), System.currentTimeMillis()));
                    }
                });
                report("burst of 300 published at once", samples);
            }
        }
    }

    record Sample(long endToEnd, long engine, long added) {
    }

    static Sample sample(RoutingResult r, long sent, long seen) {
        long engine = r.getTimings().getFinishedAt() - r.getTimings().getAdmittedAt();
        return new Sample(seen - sent, engine, seen - sent - engine);
    }

    static void send(LocalPipeline p, Random rnd, String prefix, int n) throws Exception {
        List<byte[]> lines = new ArrayList<>();
        List<String> rids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rids.add(prefix + "-" + i);
            lines.add(line(rnd, prefix + "-" + i));
        }
        p.publishAll(lines, rids);
    }

    /** 8-32 prompt tokens, 4-16 new tokens, greedy. */
    static byte[] line(Random rnd, String rid) {
        StringBuilder s = new StringBuilder("{\"rid\":\"" + rid + "\",\"max_new_tokens\":" + (4 + rnd.nextInt(13))
                + ",\"prompt_token_ids\":[");
        int n = 8 + rnd.nextInt(25);
        for (int i = 0; i < n; i++) {
            s.append(i == 0 ? "" : ",").append(rnd.nextInt(150_000));
        }
        return s.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    static void report(String what, List<Sample> samples) {
        System.out.printf("%s: n=%d%n", what, samples.size());
        System.out.printf("  end-to-end ms  p50 %d  p99 %d%n", pct(samples, 0, 50), pct(samples, 0, 99));
        System.out.printf("  engine ms      p50 %d  p99 %d%n", pct(samples, 1, 50), pct(samples, 1, 99));
        System.out.printf("  added ms       p50 %d  p99 %d%n", pct(samples, 2, 50), pct(samples, 2, 99));
    }

    static long pct(List<Sample> s, int field, int p) {
        List<Long> v = new ArrayList<>();
        for (Sample x : s) {
            v.add(field == 0 ? x.endToEnd() : field == 1 ? x.engine() : x.added());
        }
        Collections.sort(v);
        return v.get(Math.min(v.size() - 1, (int) Math.ceil(p / 100.0 * v.size()) - 1));
    }

    /** Requests of a 256-token prompt and 256 outputs: one prefill event + 255 decode events each. */
    static void assemblerThroughput() throws Exception {
        int layers = 48;
        int k = 8;
        int prompt = 256;
        int outputs = 256;
        int requests = 200;
        RoutingLayoutInfo layout = RoutingLayoutInfo.newBuilder()
                .setMoeLayerIndices(java.util.stream.IntStream.range(0, layers).boxed().toList())
                .setTopK(k).setNumExperts(128).setDtype("uint8").build();
        int perToken = layers * k;
        List<List<TokenRoutingEvent>> all = new ArrayList<>();
        Random rnd = new Random(5);
        long bytes = 0;
        for (int r = 0; r < requests; r++) {
            List<TokenRoutingEvent> evs = new ArrayList<>();
            String rid = "r" + r;
            for (int o = 0; o < outputs; o++) {
                int first = o == 0 ? 0 : prompt + o - 1;
                int n = o == 0 ? prompt : 1;
                byte[] ids = new byte[n * perToken];
                rnd.nextBytes(ids);
                bytes += ids.length;
                evs.add(TokenRoutingEvent.newBuilder().setRid(rid).setSeq(o).setFirstPosition(first)
                        .setNumRoutedTokens(n).setRoutingIds(ByteBuffer.wrap(ids)).setSampledToken(o)
                        .setLogprob(-1f).setOutputIndex(o).setFinishReason(o == outputs - 1 ? "length" : null)
                        .setHeader(o == 0 ? RequestHeader.newBuilder().setModel("m")
                                .setPromptTokenIds(Collections.nCopies(prompt, 1)).setMaxNewTokens(outputs)
                                .setLayout(layout).setMetadata(Map.of()).build() : null)
                        .build());
            }
            all.add(evs);
        }
        for (int round = 0; round < 6; round++) {
            try (var h = new KeyedOneInputStreamOperatorTestHarness<>(
                    new KeyedProcessOperator<>(new RoutingAssembler(60_000, TimeoutClock.PROCESSING)),
                    TokenRoutingEvent::getRid, Types.STRING)) {
                h.open();
                long t0 = System.nanoTime();
                // Interleave requests as continuous batching does: step o of every request, then o + 1.
                for (int o = 0; o < outputs; o++) {
                    for (List<TokenRoutingEvent> evs : all) {
                        h.processElement(new StreamRecord<>(evs.get(o)));
                    }
                }
                double s = (System.nanoTime() - t0) / 1e9;
                int results = h.extractOutputValues().size();
                System.out.printf("assembler round %d: %d records, %.1f MB routing in %.2f s = %.1f MB/s, %.0f events/s%n",
                        round, results, bytes / 1e6, s, bytes / 1e6 / s, requests * outputs / s);
            }
        }
    }
}
