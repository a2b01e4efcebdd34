package io.routingreplay.runtime.cli;

import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.engine.StepEvent;
import io.routingreplay.runtime.sampler.SamplingParams;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

/**
 * {@code bench}: engine throughput on random prompts, greedy, EOS ignored. For each batch size B the step token
 * budget is B × prompt length, so all prompts prefill in one step and every later step decodes B tokens; prefill
 * and decode are timed separately, after one warm-up round (JIT) of the same shape. A measurement, not a test.
 */
final class BenchCommand {
    static final String USAGE = """
            usage: routing-replay bench --model DIR [--backend cpu|cuda] [--prompt-len N] [--output-len N]
                                        [--batch 1,32] [--threads N] [--kv-cache-tokens N]
                   routing-replay bench --synthetic-config config.json --backend cuda [same options]
              --prompt-len N           prompt tokens per request (default 128)
              --output-len N           generated tokens per request (default 32)
              --batch LIST             batch sizes, comma-separated (default 1,32)
            """;

    private final PrintStream out;

    BenchCommand(PrintStream out) {
        this.out = out;
    }

    int run(List<String> argv) {
        Set<String> options = new HashSet<>(Set.of("model", "backend", "threads", "kv-cache-tokens",
                "prompt-len", "output-len", "batch", "synthetic-config"));
        CliArgs args = new CliArgs("bench", argv, options, Set.of());
        int promptLen = args.positiveInt("prompt-len", 128);
        int outputLen = args.positiveInt("output-len", 32);
        if (outputLen < 2) {
            throw new UsageException("--output-len must be at least 2 (the first token comes from prefill)");
        }
        int[] batches = args.positiveInts("batch", new int[]{1, 32});
        EngineConfig.Builder base = EngineOptions.builder(args);
        out.printf(Locale.ROOT, "model %s, backend %s, %d threads, prompt %d tokens, output %d tokens%n",
                args.has("synthetic-config") ? "synthetic " + args.string("synthetic-config", "") : args.required("model"),
                args.string("backend", "cpu"), EngineOptions.build(base).threads(),
                promptLen, outputLen);
        out.println("| batch | prefill tokens/s | decode tokens/s | decode ms/step |");
        out.println("| ---: | ---: | ---: | ---: |");
        long wallStart = System.nanoTime();
        long cpuStart = processCpuNanos();
        for (int batch : batches) {
            EngineConfig cfg = EngineOptions.build(base.maxNumSeqs(batch).maxBatchTokens(batch * promptLen)
                    .maxNewTokensCap(outputLen));
            try (LLMEngine engine = LLMEngine.create(cfg)) {
                round(engine, batch, promptLen, outputLen, 1);
                Timing t = round(engine, batch, promptLen, outputLen, 2);
                out.printf(Locale.ROOT, "| %d | %.1f | %.1f | %.2f |%n", batch, t.prefillTokens / t.prefillSeconds,
                        t.decodeTokens / t.decodeSeconds, 1e3 * t.decodeSeconds / t.decodeSteps);
            }
        }
        // On a shared machine the figures mean little without how much of it the bench actually got.
        double wall = (System.nanoTime() - wallStart) / 1e9;
        double cpu = (processCpuNanos() - cpuStart) / 1e9;
        out.printf(Locale.ROOT, "process CPU %.1f s in %.1f s wall (%.0f%% of %d cores)%n", cpu, wall,
                100 * cpu / wall / Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().availableProcessors());
        return 0;
    }

    private static long processCpuNanos() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() : 0L;
    }

    /** Where the time of one round went. A step that fed more than one token of any sequence counts as prefill. */
    private static final class Timing {
        long prefillTokens;
        long decodeTokens;
        long decodeSteps;
        double prefillSeconds;
        double decodeSeconds;
    }

    private static Timing round(LLMEngine engine, int batch, int promptLen, int outputLen, long seed) {
        Random random = new Random(seed);
        int vocab = engine.modelConfig().vocabSize;
        for (int i = 0; i < batch; i++) {
            int[] prompt = random.ints(promptLen, 0, vocab).toArray();
            SamplingParams greedy = new SamplingParams(outputLen, 0f, 1f, 0, 0L, List.of(), true, false);
            engine.add(new GenerationRequest("bench-" + seed + "-" + i, prompt, greedy));
        }
        Timing t = new Timing();
        while (engine.hasUnfinished()) {
            long start = System.nanoTime();
            List<StepEvent> events = engine.step();
            double seconds = (System.nanoTime() - start) / 1e9;
            boolean prefill = false;
            long tokens = 0;
            for (StepEvent e : events) {
                prefill |= e.numRoutedTokens() > 1 || e.sampledToken() < 0;
                tokens += e.numRoutedTokens();
            }
            if (prefill) {
                t.prefillTokens += tokens;
                t.prefillSeconds += seconds;
            } else {
                t.decodeTokens += events.size();
                t.decodeSteps++;
                t.decodeSeconds += seconds;
            }
        }
        return t;
    }
}
