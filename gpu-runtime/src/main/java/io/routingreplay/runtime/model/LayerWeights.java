package io.routingreplay.runtime.model;

import io.routingreplay.runtime.model.attention.AttentionWeights;
import io.routingreplay.runtime.model.attention.GqaWeights;
import io.routingreplay.runtime.weights.TensorView;

/** One decoder layer's tensors (all memory-mapped): its attention, and either routed experts or a dense MLP. */
public final class LayerWeights {
    public TensorView attnNorm;   // [hidden]
    public TensorView ffnNorm;    // [hidden]
    public AttentionWeights attention;
    public MoeWeights moe;        // MoE layers only
    public MlpWeights dense;      // dense layers only

    public boolean isMoe() {
        return moe != null;
    }

    /** The attention tensors of a GQA layer (the only kind the CUDA backend runs today). */
    public GqaWeights gqa() {
        if (attention instanceof GqaWeights g) {
            return g;
        }
        throw new IllegalStateException("layer attention is " + attention.getClass().getSimpleName() + ", not GQA");
    }
}
