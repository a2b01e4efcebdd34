package io.routingreplay.runtime.cli.verify;

import io.routingreplay.runtime.engine.ReplayReport;

import java.util.Arrays;
import java.util.Locale;

/**
 * How a record compares with its replay (its prompt + output scored with its own routing forced): the check behind
 * {@code verify} and the streaming job's audit stage. The recomputed logprobs of the output tokens (and of the
 * prompt tokens, when the record holds prompt_logprobs) must equal the recorded ones, bit for bit by default (same
 * backend: this engine is batch-invariant and exact) or within a tolerance; without a tolerance the free router must
 * also reproduce every forced cell, except those the record's own forced_routing already reported it would not.
 *
 * @param logprobs         recorded logprobs compared (outputs, then prompt tokens 1.. when recorded)
 * @param equalLogprobs    of those, the ones the replay reproduced
 * @param firstBad         the first output index whose logprob differs, or -1 (prompt tokens: see firstBadPrompt)
 * @param firstBadPrompt   the first prompt token whose recorded logprob differs, or -1
 * @param maxDiff          the largest |recorded − recomputed|
 * @param cells            forced cells (rows × MoE layers × k)
 * @param cellsReproduced  forced cells the free router also picked
 * @param expectedUnreproduced cells the record itself reported as forced against the free router
 * @param ok               logprobs and routing as required
 */
public record ReplayCheck(int logprobs, int equalLogprobs, int firstBad, float recordedAtFirstBad,
                          float recomputedAtFirstBad, int firstBadPrompt, double maxDiff, long cells,
                          long cellsReproduced, long expectedUnreproduced, int[] mismatchedPositions,
                          boolean tolerant, boolean ok) {

    /** Compares {@code r} with its replay's report ({@code tolerance} null: bit for bit). */
    public static ReplayCheck of(RecordedResult r, ReplayReport replay, Float tolerance) {
        int p = r.prompt().length;
        float[] recomputed = replay.promptLogprobs();
        int n = r.logprobs().length;
        int equal = 0, firstBad = -1, firstBadPrompt = -1;
        double maxDiff = 0;
        for (int j = 0; j < n; j++) {
            double diff = Math.abs((double) recomputed[p - 1 + j] - r.logprobs()[j]);
            maxDiff = Math.max(maxDiff, diff);
            if (same(r.logprobs()[j], recomputed[p - 1 + j], tolerance)) {
                equal++;
            } else if (firstBad < 0) {
                firstBad = j;
            }
        }
        float[] prompt = r.promptLogprobs();
        int compared = n;
        if (prompt != null) {
            for (int i = 0; i < prompt.length && i < p - 1; i++) {
                compared++;
                maxDiff = Math.max(maxDiff, Math.abs((double) recomputed[i] - prompt[i]));
                if (same(prompt[i], recomputed[i], tolerance)) {
                    equal++;
                } else if (firstBadPrompt < 0) {
                    firstBadPrompt = i + 1;
                }
            }
            if (prompt.length != p - 1 && firstBadPrompt < 0) {
                firstBadPrompt = Math.min(prompt.length, p - 1) + 1; // a missing or extra value is a difference
            }
        }
        long cells = replay.forcedCells();
        long reproduced = replay.forcedCellsReproduced();
        boolean routingOk = tolerance != null || reproduced == cells - r.forcedUnreproduced();
        return new ReplayCheck(compared, equal, firstBad, firstBad < 0 ? Float.NaN : r.logprobs()[firstBad],
                firstBad < 0 ? Float.NaN : recomputed[p - 1 + firstBad], firstBadPrompt, maxDiff, cells, reproduced,
                r.forcedUnreproduced(), replay.forcedMismatches(), tolerance != null,
                firstBad < 0 && firstBadPrompt < 0 && routingOk);
    }

    private static boolean same(float recorded, float recomputed, Float tolerance) {
        return tolerance == null ? Float.floatToIntBits(recomputed) == Float.floatToIntBits(recorded)
                : Math.abs((double) recomputed - recorded) <= tolerance;
    }

    /** "logprobs 8/8 identical (max |diff| 0), first at output 3: recorded … recomputed …; routing …". */
    public String describe(String toleranceText) {
        StringBuilder line = new StringBuilder();
        line.append("logprobs ").append(equalLogprobs).append('/').append(logprobs)
                .append(tolerant ? " within " + toleranceText : " identical")
                .append(String.format(Locale.ROOT, " (max |diff| %.3g)", maxDiff));
        if (firstBad >= 0) {
            line.append(", first at output ").append(firstBad).append(": recorded ").append(recordedAtFirstBad)
                    .append(" recomputed ").append(recomputedAtFirstBad);
        }
        if (firstBadPrompt >= 0) {
            line.append(", prompt_logprobs differ from prompt token ").append(firstBadPrompt);
        }
        line.append("; routing ").append(cellsReproduced).append('/').append(cells)
                .append(" cells reproduced by the free router")
                .append(String.format(Locale.ROOT, " (%.3f %%)", cells == 0 ? 100.0 : 100.0 * cellsReproduced / cells));
        if (cellsReproduced != cells) {
            line.append(", positions differing per MoE layer ").append(Arrays.toString(mismatchedPositions));
            if (expectedUnreproduced > 0) {
                line.append(" (the record's own forced_routing reported ").append(expectedUnreproduced)
                        .append(" cells the free router would not pick)");
            }
        }
        return line.toString();
    }
}
