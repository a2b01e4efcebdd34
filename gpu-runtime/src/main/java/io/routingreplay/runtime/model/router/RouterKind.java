package io.routingreplay.runtime.model.router;

/**
 * How an MoE layer turns its router logits into the routed experts and the weights it multiplies their outputs
 * by. {@link #route} is the reference every backend must reproduce; it works on one token, so a token's routing
 * never depends on its batch-mates. Ids come out sorted by combine weight, descending (ties: lower id first), as
 * the routing record lists them; shared experts are not routed and never appear.
 */
public sealed interface RouterKind permits SoftmaxTopK, SoftmaxGroupLimitedGreedy, SigmoidGroupLimited {
    int numExperts();

    int topK();

    /** Whether the selected weights are renormalised to sum to 1 (before any routed scaling). */
    boolean normTopkProb();

    /** Whether the layer has a per-expert {@code e_score_correction_bias} (used for selection only). */
    default boolean hasCorrectionBias() {
        return false;
    }

    /**
     * Routes one token.
     *
     * @param logits  router logits, {@code numExperts} floats from {@code off}
     * @param bias    the layer's correction bias, or null when {@link #hasCorrectionBias()} is false
     * @param ids     receives {@code topK} expert ids at {@code outOff}
     * @param weights receives their combine weights at {@code outOff}
     */
    void route(float[] logits, int off, float[] bias, int[] ids, float[] weights, int outOff);
}
