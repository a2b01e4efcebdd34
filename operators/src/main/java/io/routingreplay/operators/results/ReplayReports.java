package io.routingreplay.operators.results;

import io.routingreplay.runtime.engine.ReplayReport;
import io.routingreplay.schemas.ForcedRoutingReport;
import java.util.ArrayList;
import java.util.List;

/**
 * The engine's {@link ReplayReport} on the wire and back: {@code prompt_logprobs} (prompt tokens 1 .. prompt − 1, as
 * the engine holds them) and {@code forced_routing} ({@link ForcedRoutingReport}), the two fields the final
 * {@code TokenRoutingEvent} and the {@code RoutingResult} carry. The round trip is exact, so a result read back
 * writes the JSON {@code generate} writes for the same request.
 */
public final class ReplayReports {

    private ReplayReports() {
    }

    /** What {@code forced_routing} did, or null when the report has none (nothing forced, or no report). */
    public static ForcedRoutingReport toWire(ReplayReport r) {
        if (r == null || r.forcedMismatches() == null) {
            return null;
        }
        List<Integer> mismatches = new ArrayList<>(r.forcedMismatches().length);
        for (int m : r.forcedMismatches()) {
            mismatches.add(m);
        }
        return ForcedRoutingReport.newBuilder().setPositions(r.forcedPositions()).setMismatchedPositions(mismatches)
                .setCells(r.forcedCells()).setCellsReproduced(r.forcedCellsReproduced()).build();
    }

    /** The report of the two wire fields; null when both are (a request with neither replay input). */
    public static ReplayReport fromWire(List<Float> promptLogprobs, ForcedRoutingReport forced) {
        if (promptLogprobs == null && forced == null) {
            return null;
        }
        float[] scores = null;
        if (promptLogprobs != null) {
            scores = new float[promptLogprobs.size()];
            for (int i = 0; i < scores.length; i++) {
                scores[i] = promptLogprobs.get(i);
            }
        }
        if (forced == null) {
            return new ReplayReport(scores, 0, null, 0, 0);
        }
        int[] mismatches = new int[forced.getMismatchedPositions().size()];
        for (int i = 0; i < mismatches.length; i++) {
            mismatches[i] = forced.getMismatchedPositions().get(i);
        }
        return new ReplayReport(scores, forced.getPositions(), mismatches, forced.getCells(),
                forced.getCellsReproduced());
    }
}
