package io.routingreplay.runtime.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.routingreplay.runtime.cli.request.JsonlLines;
import io.routingreplay.runtime.cli.verify.RecordedResult;
import io.routingreplay.runtime.cli.verify.ReplayCheck;
import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.engine.InvalidRequestException;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.engine.ResultBuilder;
import io.routingreplay.runtime.engine.StepEvent;
import io.routingreplay.runtime.routing.RoutingLayout;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code verify}: the engine's check of its own records. Each result's prompt + output is scored with its recorded
 * routing forced (max_new_tokens 0, prompt_logprobs), and the recomputed logprobs of the output tokens are compared
 * with the recorded {@code output_logprobs}: bit for bit by default (same backend: this engine is batch-invariant and
 * exact), or within {@code --tolerance}. Also reported: the share of routed cells the free router reproduces, and
 * structural errors (row count, ids out of range, duplicate ids). One line per result, then the totals.
 */
public final class VerifyCommand {
    /** Some result did not verify (mismatch or structural error). */
    public static final int EXIT_MISMATCH = 4;
    public static final String USAGE = """
            usage: routing-replay verify --model DIR --results results.jsonl [--npy-dir DIR] [--tolerance X] [options]
              --results FILE           results of `generate` (or the job), one JSON object per line
              --npy-dir DIR            read each record's ids from DIR/<rid>.npy (as generate --npy-dir wrote them)
                                       instead of the line's topk_ids
              --tolerance X            accept recomputed logprobs within X of the recorded ones (across backends);
                                       default: bit for bit, and every routed cell must be the free router's too
            exit status: 0 every result verified, 4 some did not (mismatch or structural error)
            """ + EngineOptions.USAGE;

    private final PrintStream out;

    public VerifyCommand(PrintStream out) {
        this.out = out;
    }

    public int run(List<String> argv) throws IOException {
        Set<String> options = new HashSet<>(EngineOptions.NAMES);
        options.addAll(Set.of("results", "npy-dir", "tolerance"));
        CliArgs args = new CliArgs("verify", argv, options, new HashSet<>(EngineOptions.FLAGS));
        Path results = args.requiredPath("results");
        if (!Files.isRegularFile(results)) {
            throw new UsageException("--results " + results + " is not a readable file");
        }
        Path npyDir = args.path("npy-dir");
        Float tolerance = null;
        if (args.has("tolerance")) {
            try {
                tolerance = Float.parseFloat(args.required("tolerance"));
            } catch (NumberFormatException e) {
                tolerance = Float.NaN;
            }
            if (!(tolerance >= 0f) || Float.isInfinite(tolerance)) {
                throw new UsageException("--tolerance must be a finite number >= 0, got " + args.required("tolerance"));
            }
        }
        EngineConfig config = EngineOptions.build(EngineOptions.builder(args));
        ObjectMapper json = new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
        Totals totals = new Totals();
        try (LLMEngine engine = LLMEngine.create(config)) {
            RoutingLayout layout = engine.routingLayout();
            List<RecordedResult> records = new ArrayList<>();
            try (JsonlLines lines = new JsonlLines(Files.newInputStream(results))) {
                for (JsonlLines.Line line = lines.next(); line != null; line = lines.next()) {
                    if (line.error() == null && line.text().isBlank()) {
                        continue;
                    }
                    if (line.error() != null) {
                        records.add(RecordedResult.unreadable("line " + line.number(), line.error()));
                        continue;
                    }
                    JsonNode node;
                    try {
                        node = json.readTree(line.text());
                    } catch (IOException e) {
                        records.add(RecordedResult.unreadable("line " + line.number(),
                                "not JSON: " + e.getMessage()));
                        continue;
                    }
                    records.add(RecordedResult.parse(node, layout, npyDir));
                }
            }
            Map<String, GenerationResult> replayed = replay(engine, records, config.maxNewTokensCap());
            for (RecordedResult r : records) {
                report(r, replayed.get(r.rid()), layout, tolerance, totals);
            }
        }
        out.println(totals.summary());
        return totals.failed() == 0 ? 0 : EXIT_MISMATCH;
    }

    /** Scores every structurally sound record with its routing forced, all through one engine. */
    private static Map<String, GenerationResult> replay(LLMEngine engine, List<RecordedResult> records, int cap) {
        Map<String, ResultBuilder> builders = new HashMap<>();
        for (RecordedResult r : records) {
            if (!r.errors().isEmpty() || builders.containsKey(r.rid())) {
                continue;
            }
            GenerationRequest req = r.replayRequest();
            try {
                engine.add(req);
                builders.put(r.rid(), new ResultBuilder(req, engine.routingLayout()));
            } catch (InvalidRequestException e) {
                r.errors().add("cannot replay: " + e.getMessage());
            }
        }
        while (engine.hasUnfinished()) {
            for (StepEvent e : engine.step()) {
                builders.get(e.rid()).accept(e);
            }
        }
        Map<String, GenerationResult> done = new HashMap<>();
        builders.forEach((rid, b) -> done.put(rid, b.build()));
        return done;
    }

    private void report(RecordedResult r, GenerationResult replay, RoutingLayout layout, Float tolerance,
                        Totals totals) {
        if (!r.errors().isEmpty() || replay == null) {
            totals.errors++;
            out.println("verify " + r.rid() + ": ERROR " + String.join("; ", r.errors()));
            return;
        }
        ReplayCheck check = ReplayCheck.of(r, replay.replay(), tolerance);
        boolean ok = check.ok();
        String line = "verify " + r.rid() + (ok ? ": OK " : ": MISMATCH ") + check.describe(String.valueOf(tolerance));
        out.println(line);
        if (ok) {
            totals.ok++;
        } else {
            totals.mismatched++;
        }
        totals.logprobs += check.logprobs();
        totals.equalLogprobs += check.equalLogprobs();
        totals.cells += check.cells();
        totals.reproducedCells += check.cellsReproduced();
    }

    private static final class Totals {
        int ok;
        int mismatched;
        int errors;
        long logprobs;
        long equalLogprobs;
        long cells;
        long reproducedCells;

        int failed() {
            return mismatched + errors;
        }

        String summary() {
            return String.format(Locale.ROOT, "verify: %d results: %d ok, %d mismatched, %d structural errors; "
                            + "logprobs %d/%d equal; routing %d/%d cells reproduced by the free router (%.3f %%)",
                    ok + mismatched + errors, ok, mismatched, errors, equalLogprobs, logprobs, reproducedCells, cells,
                    cells == 0 ? 100.0 : 100.0 * reproducedCells / cells);
        }
    }
}
