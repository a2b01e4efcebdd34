package io.routingreplay.runtime.model.router;

/**
 * Softmax over all experts, the k most probable (Qwen3-MoE, Mixtral, OLMoE, Qwen2-MoE, DeepSeek-V2's "greedy"),
 * optionally renormalised to sum to 1, then times {@code routedScaling}.
 */
public record SoftmaxTopK(int numExperts, int topK, boolean normTopkProb, float routedScaling) implements RouterKind {

    @Override
    public void select(float[] logits, int off, float[] bias, int[] ids, int outOff) {
        float[] prob = RouterMath.softmax(logits, off, numExperts);
        RouterMath.takeTopK(prob, prob, topK, ids, outOff);
    }

    @Override
    public void weigh(float[] logits, int off, int[] ids, float[] weights, int outOff) {
        RouterMath.gather(RouterMath.softmax(logits, off, numExperts), ids, weights, outOff, topK);
        RouterMath.finish(weights, outOff, topK, normTopkProb, 0f, routedScaling);
    }
}
