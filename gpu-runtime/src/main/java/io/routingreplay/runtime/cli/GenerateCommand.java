package io.routingreplay.runtime.cli;

import io.routingreplay.runtime.cli.request.JsonlLines;
import io.routingreplay.runtime.cli.request.ParsedRequest;
import io.routingreplay.runtime.cli.request.RequestLimits;
import io.routingreplay.runtime.cli.request.RequestLineParser;
import io.routingreplay.runtime.cli.request.RequestValidator;
import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.InvalidRequestException;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.engine.StepEvent;
import io.routingreplay.runtime.roofline.LowerBoundMeter;
import io.routingreplay.runtime.tokenizer.TextTokenizer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code generate}: runs every valid request of a JSONL file through one engine (continuous batching) and writes
 * one result line per request, in input order. Bad lines are reported with their line number and reason and do not
 * stop the others; the exit status is {@link #EXIT_REJECTED} when any line was rejected.
 */
public final class GenerateCommand {
    public static final int EXIT_REJECTED = 3;
    static final String USAGE = """
            usage: routing-replay generate --model DIR --input requests.jsonl --output results.jsonl [options]
                   routing-replay generate --synthetic-config config.json --backend cuda --input ... --output ...
              --input FILE             requests, one JSON object per line (rid, prompt_text | prompt_token_ids,
                                       max_new_tokens, temperature, top_p, top_k, seed, stop_token_ids,
                                       ignore_eos, return_routing_weights, routing_start, return_routing,
                                       forced_routing | forced_routing_npy, prompt_logprobs)
              --output FILE            results, one JSON object per line, in input order
              --npy-dir DIR            also write each request's expert ids as DIR/<rid>.npy
                                       (shape [num_tokens, num_moe_layers, top_k], uint8 or uint16)
              --rejected-output FILE   rejected lines as JSONL {line, rid, reason}
              --lower-bound            (--backend cuda) also print the least time the run's own schedule could take:
                                       each step's weight + K/V bytes over the GPU's measured copy bandwidth
            """ + EngineOptions.USAGE;
    private static final long PROGRESS_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final PrintStream err;

    public GenerateCommand(PrintStream err) {
        this.err = err;
    }

    /** @return the exit status: 0, or {@link #EXIT_REJECTED} when some lines were rejected */
    public int run(List<String> argv) throws IOException {
        Set<String> options = new HashSet<>(EngineOptions.NAMES);
        options.addAll(Set.of("input", "output", "npy-dir", "rejected-output"));
        Set<String> flags = new HashSet<>(EngineOptions.FLAGS);
        flags.add("lower-bound");
        CliArgs args = new CliArgs("generate", argv, options, flags);
        Path input = args.requiredPath("input");
        if (!Files.isRegularFile(input) || !Files.isReadable(input)) {
            throw new UsageException("--input " + input + " is not a readable file");
        }
        Path output = args.requiredPath("output");
        Path rejectedOutput = args.path("rejected-output");
        requireDistinct(input, output, "--output");
        requireDistinct(input, rejectedOutput, "--rejected-output");
        requireDistinct(output, rejectedOutput, "--rejected-output");
        Path npyDir = args.path("npy-dir");
        EngineConfig config = EngineOptions.build(EngineOptions.builder(args));
        boolean lowerBound = args.flag("lower-bound");
        if (lowerBound && !config.backend().equals("cuda")) {
            throw new UsageException("--lower-bound needs --backend cuda (the bound uses the GPU's measured copy bandwidth)");
        }
        if (npyDir != null) {
            Files.createDirectories(npyDir);
        }
        TextTokenizer tokenizer = config.modelDir() == null ? null : TextTokenizer.load(config.modelDir()).orElse(null);
        if (tokenizer == null) {
            err.println("note: " + (config.modelDir() == null ? "synthetic weights have" : config.modelDir() + " has")
                    + " no tokenizer.json: prompt_text is rejected and output_text is null");
        }
        try (LLMEngine engine = LLMEngine.create(config);
             RejectionLog rejections = new RejectionLog(err, rejectedOutput);
             OrderedResultWriter results = new OrderedResultWriter(engine.routingLayout(), tokenizer, output, npyDir)) {
            RequestLineParser parser = new RequestLineParser(new RequestValidator(
                    RequestLimits.of(engine.modelConfig(), config.maxNewTokensCap()), tokenizer));
            LowerBoundMeter meter = null;
            if (lowerBound) {
                meter = new LowerBoundMeter(engine.modelConfig(), config.kvCacheDtype().bytes(),
                        engine.copyBandwidthGBs().orElseThrow());
                engine.observeSteps(meter);
            }
            admitAll(input, parser, engine, results, rejections);
            ProgressReporter progress = new ProgressReporter(err, PROGRESS_INTERVAL_NANOS, results.numExpected());
            long resultNanos = 0;
            while (engine.hasUnfinished()) {
                List<StepEvent> events = engine.step();
                long t = System.nanoTime();
                for (StepEvent e : events) {
                    results.accept(e);
                }
                resultNanos += System.nanoTime() - t;
                progress.maybeReport(results.numFinished(), engine.stats());
            }
            long t = System.nanoTime();
            results.drain();
            long drainNanos = System.nanoTime() - t;
            double seconds = progress.finish(results.numFinished(), rejections.count(), engine.stats());
            if (meter != null) {
                err.println(meter.summary(seconds));
                err.printf(Locale.ROOT, "  host time: %s, results %.2f s (handing events over %.2f s, waiting for the"
                        + " writer at the end %.2f s)%n", engine.hostTimes().describe(),
                        (resultNanos + drainNanos) / 1e9, resultNanos / 1e9, drainNanos / 1e9);
            }
            return rejections.count() > 0 ? EXIT_REJECTED : 0;
        } finally {
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
    }

    /** Output files are truncated when opened: one that is also the input (or the other output) would be lost. */
    private static void requireDistinct(Path existing, Path other, String option) throws IOException {
        if (other == null) {
            return;
        }
        boolean same = Files.exists(existing) && Files.exists(other) ? Files.isSameFile(existing, other)
                : existing.toAbsolutePath().normalize().equals(other.toAbsolutePath().normalize());
        if (same) {
            throw new UsageException(option + " " + other + " is the same file as " + existing);
        }
    }

    /** Reads every line; valid requests go to the engine (and the writer), the rest to the rejection log. */
    private static void admitAll(Path input, RequestLineParser parser, LLMEngine engine, OrderedResultWriter results,
                                 RejectionLog rejections) throws IOException {
        Map<String, Long> firstLineOfRid = new HashMap<>();
        try (JsonlLines lines = new JsonlLines(Files.newInputStream(input))) {
            for (JsonlLines.Line line = lines.next(); line != null; line = lines.next()) {
                if (line.error() != null) {
                    rejections.reject(line.number(), null, line.error());
                    continue;
                }
                if (line.text().isBlank()) {
                    continue;
                }
                ParsedRequest p = parser.parse(line.text());
                if (!p.isAccepted()) {
                    rejections.reject(line.number(), p.rid(), p.rejectReason());
                    continue;
                }
                Long first = firstLineOfRid.putIfAbsent(p.rid(), line.number());
                if (first != null) {
                    rejections.reject(line.number(), p.rid(), "duplicate rid '" + p.rid() + "' (first used on line "
                            + first + ")");
                    continue;
                }
                try {
                    engine.add(p.request());
                } catch (InvalidRequestException e) {
                    rejections.reject(line.number(), p.rid(), e.getMessage());
                    continue;
                }
                results.expect(p.request());
            }
        }
    }
}
