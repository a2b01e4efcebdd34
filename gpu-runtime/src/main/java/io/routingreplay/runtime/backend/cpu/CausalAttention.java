package io.routingreplay.runtime.backend.cpu;

/**
 * Scaled dot-product attention of every query head over its sequence's cached positions 0..pos (causal), one
 * (token, head) at a time in a fixed order, so a token's output never depends on its batch-mates. Query head h
 * reads K/V head {@code h / (numHeads / numKvHeads)}; keys and values may have different head widths (MLA).
 */
final class CausalAttention {
    private CausalAttention() {
    }

    /**
     * @param q   [T, numHeads * keyHeadDim]
     * @param out [T, numHeads * valueHeadDim], accumulated into (zeroed by the caller)
     */
    static void attend(Parallel par, CpuBatch b, CpuKvCache cache, int l, float[] q, int numHeads, int numKvHeads,
                       int keyHeadDim, int valueHeadDim, float scale, float[] out) {
        int T = b.numTokens, bs = cache.blockSize, kw = cache.keyWidth, vw = cache.valueWidth;
        int qd = numHeads * keyHeadDim, od = numHeads * valueHeadDim;
        int group = numHeads / numKvHeads;
        long work = 0;
        for (int t = 0; t < T; t++) {
            work += (long) (b.pos[t] + 1) * qd * 2;
        }
        float[][] kl = cache.keys(l), vl = cache.values(l);
        par.forRange(T * numHeads, work, th -> {
            int t = th / numHeads, h = th % numHeads;
            int kOff = (h / group) * keyHeadDim, vOff = (h / group) * valueHeadDim;
            int[] table = b.blockTable(t);
            int n = b.pos[t] + 1;
            float[] scores = new float[n];
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                float[] kb = kl[table[j / bs]];
                scores[j] = CpuOps.dot(q, t * qd + h * keyHeadDim, kb, (j % bs) * kw + kOff, keyHeadDim) * scale;
                max = Math.max(max, scores[j]);
            }
            float sum = 0;
            for (int j = 0; j < n; j++) {
                scores[j] = (float) Math.exp(scores[j] - max);
                sum += scores[j];
            }
            int o = t * od + h * valueHeadDim;
            for (int j = 0; j < n; j++) {
                float p = scores[j] / sum;
                float[] vb = vl[table[j / bs]];
                int vo = (j % bs) * vw + vOff;
                for (int d = 0; d < valueHeadDim; d++) {
                    out[o + d] += p * vb[vo + d];
                }
            }
        });
    }
}
