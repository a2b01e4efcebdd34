package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.model.attention.MlaAttention;
import io.routingreplay.runtime.model.attention.MlaWeights;

/**
 * MLA on the CPU, as transformers' DeepseekV3Attention computes it. The cache holds each position's decompressed
 * per-head key [k_nope | rotated k_rope] and value (v_head_dim): attention then reads it like GQA with one K/V head
 * per query head. (Caching the latent instead would re-run kv_b_proj over the whole context at every step; the
 * decompressed form costs more memory and computes the same per-position numbers, since kv_b_proj of one position
 * never depends on the others.)
 */
final class CpuMlaAttention implements CpuAttention {
    private final ModelConfig c;
    private final MlaAttention a;
    private final MlaWeights[] w;       // [layer]
    private final float[][] qANorm;     // [layer][q_lora_rank], null without q_lora_rank
    private final float[][] kvANorm;    // [layer][kv_lora_rank]
    private final float scale;
    private final CpuProducts products;
    private final CpuKvCache cache;

    CpuMlaAttention(ModelConfig c, MlaAttention a, ModelWeights mw, CpuProducts products, CpuKvCache cache) {
        this.c = c;
        this.a = a;
        this.products = products;
        this.cache = cache;
        w = new MlaWeights[c.numLayers];
        qANorm = new float[c.numLayers][];
        kvANorm = new float[c.numLayers][];
        for (int l = 0; l < c.numLayers; l++) {
            w[l] = (MlaWeights) mw.layers[l].attention;
            qANorm[l] = w[l].qANorm == null ? null : w[l].qANorm.toFloatArray();
            kvANorm[l] = w[l].kvANorm.toFloatArray();
        }
        scale = (float) a.softmaxScale(c.rope);
    }

    @Override
    public float[] forward(int l, CpuBatch b, RopeTable rope, float[] xn) {
        MlaWeights lw = w[l];
        int T = b.numTokens, H = c.hiddenSize, heads = a.numHeads();
        int nope = a.qkNopeHeadDim(), rd = a.qkRopeHeadDim(), qkd = a.qkHeadDim(), vd = a.vHeadDim();
        int kvr = a.kvLoraRank(), qd = heads * qkd;
        float[] q = new float[T * qd];                      // [T, heads*(nope+rope)]
        if (a.qLoraRank() > 0) {
            int qr = a.qLoraRank();
            float[] qa = new float[T * qr];
            products.linear(lw.qA, xn, null, T, H, qa, qr);
            for (int t = 0; t < T; t++) {
                CpuOps.rmsNorm(qa, t * qr, qANorm[l], 0, c.rmsNormEps, qa, t * qr, qr);
            }
            products.linear(lw.qB, qa, null, T, qr, q, qd);
        } else {
            products.linear(lw.q, xn, null, T, H, q, qd);
        }
        int kvaw = kvr + rd;
        float[] kva = new float[T * kvaw];                  // [T, kv_lora_rank + rope]: latent | shared k_rope
        products.linear(lw.kvA, xn, null, T, H, kva, kvaw);
        float[] latent = new float[T * kvr];
        for (int t = 0; t < T; t++) {
            CpuOps.rmsNorm(kva, t * kvaw, kvANorm[l], 0, c.rmsNormEps, latent, t * kvr, kvr);
        }
        int kvbw = heads * (nope + vd);
        float[] kvb = new float[T * kvbw];                  // [T, heads*(k_nope + v)]
        products.linear(lw.kvB, latent, null, T, kvr, kvb, kvbw);
        float[] tmp = new float[rd];
        float[] key = new float[heads * qkd];
        float[] value = new float[heads * vd];
        for (int t = 0; t < T; t++) {
            int kRope = t * kvaw + kvr;
            rotate(kva, kRope, rope, t, tmp);
            for (int h = 0; h < heads; h++) {
                rotate(q, t * qd + h * qkd + nope, rope, t, tmp);
                System.arraycopy(kvb, t * kvbw + h * (nope + vd), key, h * qkd, nope);
                System.arraycopy(kva, kRope, key, h * qkd + nope, rd);
                System.arraycopy(kvb, t * kvbw + h * (nope + vd) + nope, value, h * vd, vd);
            }
            cache.write(l, b.blockTable(t), b.pos[t], key, 0, value, 0);
        }
        float[] attnOut = new float[T * heads * vd];        // [T, heads*v_head_dim]
        CausalAttention.attend(products.par, b, cache, l, q, heads, heads, qkd, vd, scale, attnOut);
        float[] proj = new float[T * H];
        products.linear(lw.wo, attnOut, null, T, heads * vd, proj, H);
        return proj;
    }

    private void rotate(float[] v, int off, RopeTable rope, int t, float[] tmp) {
        if (a.ropeInterleave()) {
            CpuOps.ropeInterleaved(v, off, a.qkRopeHeadDim(), rope.cos, rope.sin, t * rope.half, tmp);
        } else {
            CpuOps.rope(v, off, a.qkRopeHeadDim(), rope.cos, rope.sin, t * rope.half);
        }
    }
}
