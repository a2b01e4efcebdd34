package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.model.MoeWeights;
import io.routingreplay.runtime.model.attention.GqaWeights;

/**
 * The host-side values of the small tensors the CUDA backend uploads as fp32 in a layout of its own (the kernels
 * add them to fp32 activations, so they keep the exact values the CPU backend adds). Kept apart from the upload
 * so the layout is tested without a GPU.
 */
final class HostLayout {
    private HostLayout() {
    }

    /**
     * A GQA layer's q/k/v projection bias as {@code qkv_bias_norm_rope_kv} reads it: [bq | bk | bv], the same order
     * as the stacked q/k/v weight rows (and so as the QKV product's output row); null for a layer without bias.
     */
    static float[] qkvBias(GqaWeights a) {
        if (a.bq == null) {
            return null;
        }
        float[] q = a.bq.toFloatArray(), k = a.bk.toFloatArray(), v = a.bv.toFloatArray();
        float[] out = new float[q.length + k.length + v.length];
        System.arraycopy(q, 0, out, 0, q.length);
        System.arraycopy(k, 0, out, q.length, k.length);
        System.arraycopy(v, 0, out, q.length + k.length, v.length);
        return out;
    }

    /** An MoE layer's {@code e_score_correction_bias} [num_experts] (fp32, as router_grouped reads it), or null. */
    static float[] routerBias(MoeWeights m) {
        return m.routerBias == null ? null : m.routerBias.toFloatArray();
    }

    /** n reproducible values uniform in ±scale (synthetic biases; the matrices are filled on the device). */
    static float[] syntheticFloats(int n, long seed, float scale) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return f;
    }
}
