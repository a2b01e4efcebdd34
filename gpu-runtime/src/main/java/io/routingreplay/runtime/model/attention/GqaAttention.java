package io.routingreplay.runtime.model.attention;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.model.TensorNaming;
import io.routingreplay.runtime.weights.WeightStore;

/**
 * Grouped-query attention: q/k/v/o projections of {@code head_dim}-wide heads, {@code numHeads / numKvHeads}
 * query heads per K/V head, optional q/k/v bias (Qwen2-MoE, GLM-4.5), an optional q/k RMSNorm before RoPE (Qwen3
 * and GLM-4.5 per head, OLMoE over the full width), RoPE (rotate_half) on the first {@code rotaryDim} dims of each
 * head (GLM-4.5's partial rotary; the whole head elsewhere).
 */
public record GqaAttention(int numHeads, int numKvHeads, int headDim, QkNorm qkNorm, boolean qkvBias,
                           int rotaryDim) implements AttentionKind {

    public GqaAttention {
        if (rotaryDim <= 0 || rotaryDim > headDim || rotaryDim % 2 != 0) {
            throw new IllegalArgumentException("invalid model config: the rotary width (" + rotaryDim
                    + ") must be a positive even number up to head_dim (" + headDim + ")");
        }
    }

    /** GQA from config.json without bias, rotating whole heads: the common head counts and head_dim. */
    public static GqaAttention read(JsonNode c, ModelConfig.Builder b, QkNorm qkNorm) {
        if (c.hasNonNull("attention_bias") && c.get("attention_bias").asBoolean()) {
            throw new IllegalArgumentException("unsupported attention_bias: true in config.json; only bias-free "
                    + "q/k/v/o projections are implemented for " + b.architecture.modelType());
        }
        return new GqaAttention(b.numHeads, b.numKvHeads, b.headDim, qkNorm, false, b.headDim);
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
