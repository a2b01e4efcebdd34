package io.routingreplay.runtime.model.attention;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.model.TensorNaming;
import io.routingreplay.runtime.weights.WeightStore;

/**
 * Grouped-query attention: q/k/v/o projections of {@code head_dim}-wide heads, {@code numHeads / numKvHeads}
 * query heads per K/V head, an optional q/k RMSNorm before RoPE (Qwen3 per head, OLMoE over the full width).
 */
public record GqaAttention(int numHeads, int numKvHeads, int headDim, QkNorm qkNorm) implements AttentionKind {

    /** Today's GQA from config.json: the common head counts and head_dim; q/k/v/o without bias. */
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
    public GqaWeights load(WeightStore store, TensorNaming n, int i, int hidden) {
        long qd = (long) numHeads * headDim, kvd = (long) numKvHeads * headDim;
        GqaWeights w = new GqaWeights();
        w.wq = store.get(n.attn(i, "q_proj")).expectShape(qd, hidden);
        w.wk = store.get(n.attn(i, "k_proj")).expectShape(kvd, hidden);
        w.wv = store.get(n.attn(i, "v_proj")).expectShape(kvd, hidden);
        w.wo = store.get(n.attn(i, "o_proj")).expectShape(hidden, qd);
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
        return "heads=" + numHeads + "/" + numKvHeads + "x" + headDim + (qkNorm == QkNorm.NONE ? "" : " qk-norm " + qkNorm);
    }
}
