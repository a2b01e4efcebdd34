package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.attention.GqaWeights;

/**
 * GQA on the CPU: q/k/v projections (+ bias), optional q/k RMSNorm, RoPE (rotate_half over the rotary width), cache
 * write, attention, o_proj.
 */
final class CpuGqaAttention implements CpuAttention {
    private final ModelConfig c;
    private final GqaAttention a;
    private final GqaWeights[] w;      // [layer]
    private final float[][] qNorm;     // [layer][head_dim or q_dim], null without q/k norm
    private final float[][] kNorm;     // [layer][head_dim or kv_dim]
    private final float[][][] bias;    // [layer][q, k, v] projection biases, null without qkv bias
    private final Parallel par;
    private final CpuKvCache cache;

    CpuGqaAttention(ModelConfig c, GqaAttention a, ModelWeights mw, Parallel par, CpuKvCache cache) {
        this.c = c;
        this.a = a;
        this.par = par;
        this.cache = cache;
        w = new GqaWeights[c.numLayers];
        qNorm = new float[c.numLayers][];
        kNorm = new float[c.numLayers][];
        bias = new float[c.numLayers][][];
        for (int l = 0; l < c.numLayers; l++) {
            w[l] = mw.layers[l].gqa();
            qNorm[l] = w[l].qNorm == null ? null : w[l].qNorm.toFloatArray();
            kNorm[l] = w[l].kNorm == null ? null : w[l].kNorm.toFloatArray();
            bias[l] = w[l].bq == null ? null
                    : new float[][]{w[l].bq.toFloatArray(), w[l].bk.toFloatArray(), w[l].bv.toFloatArray()};
        }
    }

    @Override
    public void forward(int l, CpuBatch b, RopeTable rope, float[] xn, float[] x) {
        GqaWeights lw = w[l];
        int T = b.numTokens;
        int H = c.hiddenSize, hd = a.headDim(), qd = a.numHeads() * hd, kvd = a.numKvHeads() * hd;
        float[] q = new float[T * qd];                     // [T, heads*head_dim]
        float[] k = new float[T * kvd];                    // [T, kv_heads*head_dim]
        float[] v = new float[T * kvd];
        CpuOps.linear(par, lw.wq, xn, null, T, H, q, qd);
        CpuOps.linear(par, lw.wk, xn, null, T, H, k, kvd);
        CpuOps.linear(par, lw.wv, xn, null, T, H, v, kvd);
        if (bias[l] != null) {
            addBias(q, bias[l][0], T);
            addBias(k, bias[l][1], T);
            addBias(v, bias[l][2], T);
        }
        int rd = a.rotaryDim();
        for (int t = 0; t < T; t++) {
            if (a.qkNorm() == QkNorm.PER_HEAD) {
                for (int h = 0; h < a.numHeads(); h++) {
                    CpuOps.rmsNorm(q, t * qd + h * hd, qNorm[l], 0, c.rmsNormEps, q, t * qd + h * hd, hd);
                }
                for (int h = 0; h < a.numKvHeads(); h++) {
                    CpuOps.rmsNorm(k, t * kvd + h * hd, kNorm[l], 0, c.rmsNormEps, k, t * kvd + h * hd, hd);
                }
            } else if (a.qkNorm() == QkNorm.FULL) {
                CpuOps.rmsNorm(q, t * qd, qNorm[l], 0, c.rmsNormEps, q, t * qd, qd);
                CpuOps.rmsNorm(k, t * kvd, kNorm[l], 0, c.rmsNormEps, k, t * kvd, kvd);
            }
            for (int h = 0; h < a.numHeads(); h++) {
                CpuOps.rope(q, t * qd + h * hd, rd, rope.cos, rope.sin, t * rope.half);
            }
            for (int h = 0; h < a.numKvHeads(); h++) {
                CpuOps.rope(k, t * kvd + h * hd, rd, rope.cos, rope.sin, t * rope.half);
            }
            cache.write(l, b.blockTable(t), b.pos[t], k, t * kvd, v, t * kvd);
        }
        float[] attnOut = new float[T * qd];               // [T, heads*head_dim]
        float scale = (float) (1.0 / Math.sqrt(hd));
        CausalAttention.attend(par, b, cache, l, q, a.numHeads(), a.numKvHeads(), hd, hd, scale, attnOut);
        float[] proj = new float[T * H];
        CpuOps.linear(par, lw.wo, attnOut, null, T, qd, proj, H);
        for (int i = 0; i < T * H; i++) {
            x[i] += proj[i];
        }
    }

    /** y[t][i] += b[i] for every row of y [T, b.length]. */
    private static void addBias(float[] y, float[] b, int T) {
        int n = b.length;
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < n; i++) {
                y[t * n + i] += b[i];
            }
        }
    }
}
