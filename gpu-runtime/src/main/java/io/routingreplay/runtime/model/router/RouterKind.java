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
     * Routes one token: {@link #select} then {@link #weigh}. A forced position (routing replay) skips the selection
     * and weighs the ids it was given, so forcing the ids this picks gives the same weights, bit for bit.
     *
     * @param logits  router logits, {@code numExperts} floats from {@code off}
     * @param bias    the layer's correction bias, or null when {@link #hasCorrectionBias()} is false
     * @param ids     receives {@code topK} expert ids at {@code outOff}
     * @param weights receives their combine weights at {@code outOff}
     */
    default void route(float[] logits, int off, float[] bias, int[] ids, float[] weights, int outOff) {
        select(logits, off, bias, ids, outOff);
        weigh(logits, off, ids, weights, outOff);
    }

    /** Picks one token's {@code topK} expert ids, in record order (combine weight descending), into {@code ids}. */
    void select(float[] logits, int off, float[] bias, int[] ids, int outOff);

    /**
     * The combine weights of the {@code topK} ids at {@code ids[outOff..]}, in their order: the router's score of
     * each id (gathered, as Megatron's RouterReplay does: {@code scores.gather(idx)}), then the kind's own
     * normalisation (summed in the given order) and routed scaling. The correction bias never enters a weight.
     */
    void weigh(float[] logits, int off, int[] ids, float[] weights, int outOff);
}
