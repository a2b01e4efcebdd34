package io.routingreplay.runtime.model.qwen3moe;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ConfigJson;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.model.Architecture;
import io.routingreplay.runtime.model.Rope;
import io.routingreplay.runtime.model.TensorNaming;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.router.SoftmaxTopK;

import java.util.HashSet;
import java.util.Set;

/**
 * Qwen3-MoE: GQA with per-head q/k RMSNorm, softmax top-k ({@code norm_topk_prob}), dense MLP in the layers listed
 * in {@code mlp_only_layers} or skipped by {@code decoder_sparse_step}. The Hub's common tensor layout.
 */
public final class Qwen3Moe implements Architecture {
    private static final TensorNaming NAMING = new TensorNaming() {
    };

    @Override
    public String modelType() {
        return "qwen3_moe";
    }

    @Override
    public void readConfig(JsonNode c, ModelConfig.Builder b) {
        b.numExperts = ConfigJson.numExperts(c);
        b.moeIntermediateSize = ConfigJson.intReq(c, "moe_intermediate_size");
        b.denseIntermediateSize = ConfigJson.intOpt(c, "intermediate_size", 0);
        b.attention = GqaAttention.read(c, b, QkNorm.PER_HEAD);
        b.router = new SoftmaxTopK(b.numExperts, b.topK, ConfigJson.bool(c, "norm_topk_prob", false), 1f);
        b.rope = Rope.read(c, b.headDim, b.maxPositionEmbeddings, Set.of(Rope.DEFAULT));
        Set<Integer> mlpOnly = new HashSet<>();
        if (c.hasNonNull("mlp_only_layers")) {
            c.get("mlp_only_layers").forEach(n -> mlpOnly.add(n.asInt()));
        }
        int sparseStep = ConfigJson.intOpt(c, "decoder_sparse_step", 1);
        if (sparseStep <= 0) {
            throw new IllegalArgumentException("invalid model config: decoder_sparse_step must be > 0");
        }
        b.moeLayer = i -> !mlpOnly.contains(i) && (i + 1) % sparseStep == 0;
    }

    @Override
    public TensorNaming naming() {
        return NAMING;
    }
}
