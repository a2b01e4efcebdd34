package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.attention.GqaWeights;
import io.routingreplay.runtime.parallel.Collectives;
import io.routingreplay.runtime.parallel.RankShard;

/**
 * GQA on the CPU: q/k/v projections (+ bias), optional q/k RMSNorm, RoPE (rotate_half over the first rotaryDim dims
 * of each head), cache write, attention, o_proj.
 */
final class CpuGqaAttention implements CpuAttention {
    private final ModelConfig c;
    private final GqaAttention a;
    private final GqaWeights[] w;      // [layer]
    private final float[][] qNorm;     // [layer][head_dim or q_dim], null without q/k norm
    private final float[][] kNorm;     // [layer][head_dim or kv_dim]
    private final float[][][] bias;    // [layer][q, k, v][width], null without q/k/v bias
    private final CpuProducts products;
    private final CpuKvCache cache;
    private final RankShard shard;
    private final Collectives coll;

    /** {@code a} is this rank's attention (its head counts), {@code mw} its slices of the weights. */
    CpuGqaAttention(ModelConfig c, GqaAttention a, ModelWeights mw, CpuProducts products, CpuKvCache cache,
                    RankShard shard, Collectives coll) {
        this.c = c;
        this.a = a;
        this.products = products;
        this.cache = cache;
        this.shard = shard;
        this.coll = coll;
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
    public float[] forward(int l, CpuBatch b, RopeTable rope, float[] xn) {
        GqaWeights lw = w[l];
        int T = b.numTokens;
        int H = c.hiddenSize, hd = a.headDim(), qd = a.numHeads() * hd, kvd = a.numKvHeads() * hd;
        float[] q = new float[T * qd];                     // [T, heads*head_dim]
        float[] k = new float[T * kvd];                    // [T, kv_heads*head_dim]
        float[] v = new float[T * kvd];
        products.linear(lw.wq, xn, null, T, H, q, qd);
        products.linear(lw.wk, xn, null, T, H, k, kvd);
        products.linear(lw.wv, xn, null, T, H, v, kvd);
        if (bias[l] != null) {                             // nn.Linear(bias=True): x·Wᵀ + b, before q/k norm
            addRowBias(q, bias[l][0], T);
            addRowBias(k, bias[l][1], T);
            addRowBias(v, bias[l][2], T);
        }
        int rd = a.rotaryDim();                            // dims past rd pass through unrotated
        if (a.qkNorm() == QkNorm.FULL) {
            normWholeRows(q, T, a.numHeads(), c.attention.numHeads(), false, qNorm[l]);
            normWholeRows(k, T, a.numKvHeads(), c.attention.numKvHeads(), true, kNorm[l]);
        }
        for (int t = 0; t < T; t++) {
            if (a.qkNorm() == QkNorm.PER_HEAD) {
                for (int h = 0; h < a.numHeads(); h++) {
                    CpuOps.rmsNorm(q, t * qd + h * hd, qNorm[l], 0, c.rmsNormEps, q, t * qd + h * hd, hd);
                }
                for (int h = 0; h < a.numKvHeads(); h++) {
                    CpuOps.rmsNorm(k, t * kvd + h * hd, kNorm[l], 0, c.rmsNormEps, k, t * kvd + h * hd, hd);
                }
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
        CausalAttention.attend(products.par, b, cache, l, q, a.numHeads(), a.numKvHeads(), hd, hd, scale, attnOut);
        float[] proj = new float[T * H];
        products.linear(lw.wo, attnOut, null, T, qd, proj, H);
        return proj;
    }

    /**
     * A q/k norm over every head's width at once (OLMoE): on a sharded model each rank holds some heads of a row,
     * so whole rows are gathered from the ranks (copies, exact), normalised as on one rank, and this rank's heads
     * copied back. On one rank the gather is the rows themselves.
     *
     * @param local [T, localHeads × head_dim], normalised in place
     */
    private void normWholeRows(float[] local, int T, int localHeads, int heads, boolean kv, float[] weight) {
        int hd = a.headDim(), width = localHeads * hd, full = heads * hd;
        float[][] parts = coll.allGather(local);
        float[] rows = coll.size() == 1 ? local : new float[T * full];
        for (int h = 0; h < heads && coll.size() > 1; h++) {
            int r = kv ? shard.kvHeadSourceRank(h) : shard.headSourceRank(h);
            RankShard src = shard.layout().shard(c, r);
            int first = kv ? src.kvHeads().from() : src.heads().from();
            for (int t = 0; t < T; t++) {
                System.arraycopy(parts[r], t * width + (h - first) * hd, rows, t * full + h * hd, hd);
            }
        }
        int own = (kv ? shard.kvHeads().from() : shard.heads().from()) * hd;
        for (int t = 0; t < T; t++) {
            CpuOps.rmsNorm(rows, t * full, weight, 0, c.rmsNormEps, rows, t * full, full);
            System.arraycopy(rows, t * full + own, local, t * width, width);
        }
    }

    /** y[t][i] += bias[i] for each of the T rows of y [T, bias.length]. */
    private static void addRowBias(float[] y, float[] bias, int T) {
        int n = bias.length;
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < n; i++) {
                y[t * n + i] += bias[i];
            }
        }
    }
}
