package io.routingreplay.runtime.cli;

import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.engine.ResultBuilder;
import io.routingreplay.runtime.engine.StepEvent;
import io.routingreplay.runtime.routing.RoutingSelection;
import io.routingreplay.runtime.sampler.SamplingParams;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code multi-turn}: a multi-turn rollout workload in one engine, so the prefix cache carries each conversation
 * from one turn to the next as a long-lived server (or the streaming job) does. Turn 1 of every conversation is a
 * random prompt; when a conversation's turn n finishes, its turn n+1 is submitted: turn n's prompt + output + new
 * random tokens, with {@code routing_start} = turn n's routed positions (prompt + output − 1; the trainer holds
 * those rows). Prints a table, one row per turn ({@link MultiTurnTable}).
 */
public final class MultiTurnCommand {
    static final String USAGE = """
            usage: routing-replay multi-turn --model DIR [options]
                   routing-replay multi-turn --synthetic-config config.json --backend cuda [options]
              A multi-turn rollout in ONE engine (the prefix cache lives across turns): turn 1 of each conversation
              is a random prompt; when turn n finishes, turn n+1 = turn n's prompt + output + new random tokens is
              submitted, with routing_start = turn n's routed positions (prompt + output - 1). Prints per turn the
              prompt positions served from the prefix cache, the routing bytes returned with routing_start and what
              routing_start 0 would return, and the turn's wall time (first submission to last finish).
              --conversations N        conversations (default 32)
              --turns N                turns per conversation (default 6)
              --first-prompt N         turn 1's prompt length in tokens (default 1024)
              --new-per-turn N         new tokens each later turn appends (default 64)
              --max-new-tokens N       tokens sampled per turn (temperature 1, seeded, ignore_eos; default 512)
              --seed N                 seed of the random prompt tokens (default 6000)
              --output FILE            every turn's result as generate writes it, in finishing order
              --npy-dir DIR            each result's routing as DIR/<rid>.npy (as generate --npy-dir)
            """ + EngineOptions.USAGE;
    private static final long PROGRESS_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final PrintStream out;
    private final PrintStream err;

    public MultiTurnCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** The workload's size. */
    record Shape(int conversations, int turns, int firstPrompt, int newPerTurn, int maxNewTokens, long seed) {
        /** The longest prompt + output a conversation reaches (its last turn's). */
        long lastTurnPositions() {
            return firstPrompt + (long) (turns - 1) * (maxNewTokens + newPerTurn) + maxNewTokens;
        }
    }

    public int run(List<String> argv) throws IOException {
        Set<String> options = new HashSet<>(EngineOptions.NAMES);
        options.addAll(Set.of("conversations", "turns", "first-prompt", "new-per-turn", "max-new-tokens", "seed",
                "output", "npy-dir"));
        CliArgs args = new CliArgs("multi-turn", argv, options, EngineOptions.FLAGS);
        Shape shape = new Shape(args.positiveInt("conversations", 32), args.positiveInt("turns", 6),
                args.positiveInt("first-prompt", 1024), args.positiveInt("new-per-turn", 64),
                args.positiveInt("max-new-tokens", 512), args.positiveInt("seed", 6000));
        Path output = args.path("output");
        Path npyDir = args.path("npy-dir");
        EngineConfig config = EngineOptions.build(EngineOptions.builder(args));
        if (npyDir != null) {
            Files.createDirectories(npyDir);
        }
        try (LLMEngine engine = LLMEngine.create(config);
             ResultSink sink = new ResultSink(null, output, npyDir)) {
            int maxPositions = engine.modelConfig().maxPositionEmbeddings;
            if (shape.lastTurnPositions() > maxPositions) {
                throw new UsageException("the last turn reaches " + shape.lastTurnPositions() + " positions (first "
                        + "prompt + (turns - 1) x (max new tokens + new per turn) + max new tokens); the model "
                        + "allows " + maxPositions);
            }
            return new Run(engine, sink, shape).run();
        }
    }

    /** One run of the workload: the conversations' state and the per-turn table. */
    private final class Run {
        private final LLMEngine engine;
        private final ResultSink sink;
        private final Shape shape;
        private final Random tokens;
        private final int vocab;
        private final Map<String, ResultBuilder> live = new HashMap<>();
        private final Map<String, int[]> conversationOf = new HashMap<>(); // rid -> {conversation, turn}
        private final MultiTurnTable table;

        Run(LLMEngine engine, ResultSink sink, Shape shape) {
            this.engine = engine;
            this.sink = sink;
            this.shape = shape;
            this.tokens = new Random(shape.seed());
            this.vocab = engine.modelConfig().vocabSize;
            this.table = new MultiTurnTable(shape.turns(), engine.routingLayout().bytesPerToken());
        }

        int run() throws IOException {
            ProgressReporter progress = new ProgressReporter(err, PROGRESS_INTERVAL_NANOS,
                    shape.conversations() * shape.turns());
            for (int c = 0; c < shape.conversations(); c++) {
                submit(c, 1, randomTokens(shape.firstPrompt()), 0);
            }
            int done = 0;
            while (engine.hasUnfinished()) {
                for (StepEvent e : engine.step()) {
                    ResultBuilder b = live.get(e.rid());
                    b.accept(e);
                    if (e.isFinal()) {
                        live.remove(e.rid());
                        finished(b.build(), e.cachedPositions());
                        done++;
                    }
                }
                progress.maybeReport(done, engine.stats());
            }
            sink.drain();
            double seconds = progress.finish(done, 0, engine.stats());
            table.print(out, seconds);
            return 0;
        }

        private void finished(GenerationResult r, int cachedPositions) throws IOException {
            int[] ct = conversationOf.remove(r.rid());
            table.finished(ct[1], r, cachedPositions, System.nanoTime());
            sink.write(r);
            if (ct[1] < shape.turns()) {
                int[] history = concat(r.promptTokenIds(), r.outputTokenIds());
                // Turn n routed prompt + output − 1 positions (its last output is never fed); turn n+1's positions
                // below that see exactly the same tokens, so their rows are turn n's, which the trainer holds.
                submit(ct[0], ct[1] + 1, concat(history, randomTokens(shape.newPerTurn())), history.length - 1);
            }
        }

        private void submit(int conversation, int turn, int[] prompt, int routingStart) {
            String rid = "mt" + conversation + "t" + turn;
            SamplingParams params = new SamplingParams(shape.maxNewTokens(), 1.0f, 1.0f, 0,
                    1000L * conversation + turn, List.of(), true, false);
            GenerationRequest r = new GenerationRequest(rid, prompt, params, RoutingSelection.from(routingStart));
            engine.add(r);
            live.put(rid, new ResultBuilder(r, engine.routingLayout()));
            conversationOf.put(rid, new int[]{conversation, turn});
            table.submitted(turn, System.nanoTime());
        }

        private int[] randomTokens(int n) {
            int[] t = new int[n];
            for (int i = 0; i < n; i++) {
                t[i] = tokens.nextInt(vocab);
            }
            return t;
        }
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
