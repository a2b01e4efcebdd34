package io.routingreplay.runtime.routing;

/**
 * Routing replay's input: the top-k expert ids of a request's routed positions {@code 0 .. numPositions − 1}, in the
 * layout of a returned record ({@code [position][moe_layer][k]}). At those positions every MoE layer uses exactly
 * these experts; their combine weights come from the live router at these ids (as Megatron's {@code RouterReplay}
 * does). Forcing a record's own ids reproduces it bit for bit.
 *
 * @param numPositions m, the forced positions (at most the prompt length)
 * @param ids          {@code numPositions × moe layers × k} ids
 */
public record ForcedRouting(int numPositions, int[] ids) {

    /** The first {@code numPositions} rows of a record that starts at position 0 (e.g. a result's own routing). */
    public static ForcedRouting of(RoutingRecord record, int numPositions) {
        if (record.firstPosition() != 0 || numPositions > record.numTokens()) {
            throw new IllegalArgumentException("forced routing needs rows 0.." + (numPositions - 1)
                    + " of the record; it holds positions " + record.firstPosition() + ".." + (record.endPosition() - 1));
        }
        RoutingLayout layout = record.layout();
        int[] ids = new int[numPositions * layout.idsPerToken()];
        for (int t = 0, i = 0; t < numPositions; t++) {
            for (int l = 0; l < layout.numMoeLayers(); l++) {
                for (int k = 0; k < layout.topK(); k++) {
                    ids[i++] = record.id(t, l, k);
                }
            }
        }
        return new ForcedRouting(numPositions, ids);
    }

    /**
     * Checks shape and values against the model's layout and the request's prompt.
     *
     * @return null when valid, else a reason a person understands
     */
    public String validate(RoutingLayout layout, int promptLength) {
        if (numPositions < 0 || ids == null || ids.length != (long) numPositions * layout.idsPerToken()) {
            return "forced_routing must hold " + layout.numMoeLayers() + " MoE layers × " + layout.topK()
                    + " ids per position; got " + (ids == null ? 0 : ids.length) + " ids for " + numPositions
                    + " positions";
        }
        if (numPositions > promptLength) {
            return "forced_routing covers " + numPositions + " positions; at most the prompt length (" + promptLength
                    + ") can be forced";
        }
        int k = layout.topK();
        for (int row = 0; row < numPositions * layout.numMoeLayers(); row++) {
            for (int a = 0; a < k; a++) {
                int id = ids[row * k + a];
                String where = "position " + row / layout.numMoeLayers() + ", MoE layer " + row % layout.numMoeLayers();
                if (id < 0 || id >= layout.numExperts()) {
                    return "forced_routing id " + id + " at " + where + " is outside the experts [0, "
                            + layout.numExperts() + ")";
                }
                for (int b = 0; b < a; b++) {
                    if (ids[row * k + b] == id) {
                        return "forced_routing repeats expert " + id + " at " + where + " (a top-k list holds "
                                + "distinct experts)";
                    }
                }
            }
        }
        return null;
    }
}
