package io.routingreplay.runtime.model.attention;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.model.TensorNaming;
import io.routingreplay.runtime.weights.WeightStore;

/**
 * Grouped-query attention: q/k/v/o projections of {@code head_dim}-wide heads, {@code numHeads / numKvHeads}
 * query heads per K/V head, optional q/k/v projection bias (Qwen2-MoE, GLM-4.5; o_proj never has one), an optional
 * q/k RMSNorm after the bias and before RoPE (Qwen3 and GLM-4.5 per head, OLMoE over the full width), and RoPE in
 * rotate_half form on the first {@code rotaryDim} dims of each head, the rest passed through unrotated (GLM-4.5's
 * {@code partial_rotary_factor}; the whole head everywhere else).
 */
public record GqaAttention(int numHeads, int numKvHeads, int headDim, QkNorm qkNorm, boolean qkvBias, int rotaryDim)
        implements AttentionKind {

    public GqaAttention {
        if (rotaryDim <= 0 || rotaryDim > headDim || rotaryDim % 2 != 0) {
            throw new IllegalArgumentException("invalid model config: the rotary width " + rotaryDim
                    + " (head_dim x partial_rotary_factor) must be a positive even number up to head_dim " + headDim);
        }
    }

    /** GQA without projection bias, rotating whole heads. */
    public GqaAttention(int numHeads, int numKvHeads, int headDim, QkNorm qkNorm) {
        this(numHeads, numKvHeads, headDim, qkNorm, false, headDim);
    }

    /** GQA from config.json for architectures without bias: the common head counts and head_dim. */
    public static GqaAttention read(JsonNode c, ModelConfig.Builder b, QkNorm qkNorm) {
        if (c.hasNonNull("attention_bias") && c.get("attention_bias").asBoolean()) {
            throw new IllegalArgumentException("unsupported attention_bias: true in config.json; only bias-free "
                    + "q/k/v/o projections are implemented");
        }
        return new GqaAttention(b.numHeads, b.numKvHeads, b.headDim, qkNorm);
    }

    @Override
    public int keyHeadDim() {
        return headDim;
    }

    @Override
    public int valueHeadDim() {
        return headDim;
    }

    @Override
    public long weightElements(int hidden) {
        long qd = (long) numHeads * headDim, kvd = (long) numKvHeads * headDim;
        return (qd + 2 * kvd) * hidden + qd * hidden;
    }

    @Override
    public GqaWeights load(WeightStore store, TensorNaming n, int i, int hidden) {
        long qd = (long) numHeads * headDim, kvd = (long) numKvHeads * headDim;
        GqaWeights w = new GqaWeights();
        w.wq = store.get(n.attn(i, "q_proj")).expectShape(qd, hidden);
        w.wk = store.get(n.attn(i, "k_proj")).expectShape(kvd, hidden);
        w.wv = store.get(n.attn(i, "v_proj")).expectShape(kvd, hidden);
        w.wo = store.get(n.attn(i, "o_proj")).expectShape(hidden, qd);
        if (qkvBias) {
            w.bq = store.get(n.attnBias(i, "q_proj")).expectShape(qd);
            w.bk = store.get(n.attnBias(i, "k_proj")).expectShape(kvd);
            w.bv = store.get(n.attnBias(i, "v_proj")).expectShape(kvd);
        }
        if (qkNorm == QkNorm.PER_HEAD) {
            w.qNorm = store.get(n.attn(i, "q_norm")).expectShape(headDim);
            w.kNorm = store.get(n.attn(i, "k_norm")).expectShape(headDim);
        } else if (qkNorm == QkNorm.FULL) {
            w.qNorm = store.get(n.attn(i, "q_norm")).expectShape(qd);
            w.kNorm = store.get(n.attn(i, "k_norm")).expectShape(kvd);
        }
        return w;
    }

    @Override
    public String toString() {
        return "heads=" + numHeads + "/" + numKvHeads + "x" + headDim + (qkNorm == QkNorm.NONE ? "" : " qk-norm " + qkNorm)
                + (qkvBias ? " qkv-bias" : "") + (rotaryDim < headDim ? " rotary " + rotaryDim : "");
    }
}
