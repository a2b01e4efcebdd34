package io.routingreplay.runtime.model.router;

/**
 * DeepSeek-V2's {@code group_limited_greedy}: softmax over all experts; the experts are split into {@code nGroup}
 * equal groups scored by their best expert; only the {@code topkGroup} best groups compete (the others' scores are
 * set to 0), the k most probable of those are routed with their softmax probabilities times
 * {@code routedScaling} (renormalised first when {@code normTopkProb}).
 */
public record SoftmaxGroupLimitedGreedy(int numExperts, int topK, int nGroup, int topkGroup, boolean normTopkProb,
                                        float routedScaling) implements RouterKind {

    public SoftmaxGroupLimitedGreedy {
        RouterMath.checkGroups(numExperts, topK, nGroup, topkGroup);
    }

    @Override
    public void select(float[] logits, int off, float[] bias, int[] ids, int outOff) {
        float[] prob = RouterMath.softmax(logits, off, numExperts);
        int size = numExperts / nGroup;
        float[] groupScore = new float[nGroup];
        for (int g = 0; g < nGroup; g++) {
            float best = Float.NEGATIVE_INFINITY;
            for (int e = g * size; e < (g + 1) * size; e++) {
                best = Math.max(best, prob[e]);
            }
            groupScore[g] = best;
        }
        float[] choice = prob.clone();
        RouterMath.maskGroups(choice, groupScore, size, topkGroup, 0f);
        RouterMath.takeTopK(choice, prob, topK, ids, outOff);
    }

    @Override
    public void weigh(float[] logits, int off, int[] ids, float[] weights, int outOff) {
        RouterMath.gather(RouterMath.softmax(logits, off, numExperts), ids, weights, outOff, topK);
        RouterMath.finish(weights, outOff, topK, normTopkProb, 1e-20f, routedScaling);
    }
}
