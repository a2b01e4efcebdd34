package io.routingreplay.runtime.model.attention;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ConfigJson;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.Rope;
import io.routingreplay.runtime.model.TensorNaming;
import io.routingreplay.runtime.weights.WeightStore;

/**
 * DeepSeek's multi-head latent attention. Queries: {@code q_proj}, or with {@code q_lora_rank} > 0
 * {@code q_b_proj(RMSNorm(q_a_proj(x)))}, each head [nope | rope]. Keys and values come from one latent:
 * {@code kv_a_proj_with_mqa(x)} = [c (kv_lora_rank) | k_rope (qk_rope_head_dim, shared by all heads)];
 * {@code kv_b_proj(RMSNorm(c))} gives each head's [k_nope | v]. A head's key is [k_nope | rotated k_rope].
 * The softmax scale is qk_head_dim^-0.5, times DeepSeek's YaRN mscale(factor, mscale_all_dim)² when scaled.
 *
 * @param qLoraRank      0 when the model projects queries directly (DeepSeek-V2-Lite)
 * @param ropeInterleave the checkpoint stores rotary pairs interleaved (x0, x1), (x2, x3)…
 */
public record MlaAttention(int numHeads, int qLoraRank, int kvLoraRank, int qkNopeHeadDim, int qkRopeHeadDim,
                           int vHeadDim, boolean ropeInterleave) implements AttentionKind {

    /**
     * DeepSeek's MLA keys of config.json into {@code b}: the attention, its default or YaRN RoPE over
     * {@code qk_rope_head_dim}, and the head counts the decompressed K/V cache uses (one K/V head per query head).
     * Rotary pairs are interleaved unless {@code readsRopeInterleave} and config.json says {@code rope_interleave:
     * false} (DeepSeek-V3 has the key; V2 always rotates interleaved pairs).
     */
    public static void read(JsonNode c, ModelConfig.Builder b, boolean readsRopeInterleave) {
        if (ConfigJson.bool(c, "attention_bias", false)) {
            throw new IllegalArgumentException("unsupported attention_bias: true in config.json; only bias-free "
                    + "MLA projections are implemented");
        }
        int ropeDim = ConfigJson.intReq(c, "qk_rope_head_dim");
        b.attention = new MlaAttention(b.numHeads, ConfigJson.intOpt(c, "q_lora_rank", 0),
                ConfigJson.intReq(c, "kv_lora_rank"), ConfigJson.intReq(c, "qk_nope_head_dim"), ropeDim,
                ConfigJson.intReq(c, "v_head_dim"), !readsRopeInterleave || ConfigJson.bool(c, "rope_interleave", true));
        b.headDim = ropeDim;            // transformers' head_dim for MLA is the rotary width
        b.numKvHeads = b.numHeads;      // the cache holds one decompressed K/V head per query head
        b.rope = Rope.read(c, ropeDim, b.maxPositionEmbeddings, java.util.Set.of(Rope.DEFAULT, Rope.YARN));
    }

    public int qkHeadDim() {
        return qkNopeHeadDim + qkRopeHeadDim;
    }

    @Override
    public int numKvHeads() {
        return numHeads;
    }

    @Override
    public int keyHeadDim() {
        return qkHeadDim();
    }

    @Override
    public int valueHeadDim() {
        return vHeadDim;
    }

    /** transformers' {@code yarn_apply_mscale}: the softmax scale, in double, before the float32 multiply. */
    public double softmaxScale(Rope rope) {
        double scale = Math.pow(qkHeadDim(), -0.5);
        if (!Rope.DEFAULT.equals(rope.type()) && rope.mscaleAllDim() != 0) {
            double m = Rope.yarnMscale(rope.factor(), rope.mscaleAllDim());
            scale = scale * m * m;
        }
        return scale;
    }

    @Override
    public long weightElements(int hidden) {
        long qOut = (long) numHeads * qkHeadDim();
        long q = qLoraRank > 0 ? (long) qLoraRank * hidden + qOut * qLoraRank : qOut * hidden;
        return q + (long) (kvLoraRank + qkRopeHeadDim) * hidden
                + (long) numHeads * (qkNopeHeadDim + vHeadDim) * kvLoraRank + (long) numHeads * vHeadDim * hidden;
    }

    @Override
    public MlaWeights load(WeightStore store, TensorNaming n, int i, int hidden) {
        MlaWeights w = new MlaWeights();
        long qOut = (long) numHeads * qkHeadDim();
        if (qLoraRank > 0) {
            w.qA = store.get(n.attn(i, "q_a_proj")).expectShape(qLoraRank, hidden);
            w.qANorm = store.get(n.attn(i, "q_a_layernorm")).expectShape(qLoraRank);
            w.qB = store.get(n.attn(i, "q_b_proj")).expectShape(qOut, qLoraRank);
        } else {
            w.q = store.get(n.attn(i, "q_proj")).expectShape(qOut, hidden);
        }
        w.kvA = store.get(n.attn(i, "kv_a_proj_with_mqa")).expectShape(kvLoraRank + qkRopeHeadDim, hidden);
        w.kvANorm = store.get(n.attn(i, "kv_a_layernorm")).expectShape(kvLoraRank);
        w.kvB = store.get(n.attn(i, "kv_b_proj")).expectShape((long) numHeads * (qkNopeHeadDim + vHeadDim), kvLoraRank);
        w.wo = store.get(n.attn(i, "o_proj")).expectShape(hidden, (long) numHeads * vHeadDim);
        return w;
    }

    @Override
    public String toString() {
        return "MLA{heads=" + numHeads + ", q_lora=" + qLoraRank + ", kv_lora=" + kvLoraRank + ", nope="
                + qkNopeHeadDim + ", rope=" + qkRopeHeadDim + ", v=" + vHeadDim + "}";
    }
}
