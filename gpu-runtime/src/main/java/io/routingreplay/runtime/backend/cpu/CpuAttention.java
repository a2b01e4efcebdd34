package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.attention.MlaAttention;

/** The CPU implementation of one {@link io.routingreplay.runtime.model.attention.AttentionKind}. */
interface CpuAttention {
    /**
     * Layer l's self-attention of the step's normalised hidden states {@code xn} [T, hidden]: projections, RoPE,
     * cache write, causal attention, output projection; the result is added to the residual stream {@code x}.
     */
    void forward(int l, CpuBatch b, RopeTable rope, float[] xn, float[] x);

    static CpuAttention of(ModelConfig c, ModelWeights w, Parallel par, CpuKvCache cache) {
        if (c.attention instanceof GqaAttention g) {
            return new CpuGqaAttention(c, g, w, par, cache);
        }
        if (c.attention instanceof MlaAttention m) {
            return new CpuMlaAttention(c, m, w, par, cache);
        }
        throw new IllegalArgumentException("the CPU backend has no " + c.attention + " attention");
    }
}
