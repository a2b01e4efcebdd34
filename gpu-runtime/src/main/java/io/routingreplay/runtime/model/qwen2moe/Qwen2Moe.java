package io.routingreplay.runtime.model.qwen2moe;

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
 * Qwen2-MoE (Qwen1.5-MoE-A2.7B, Qwen2-57B-A14B): GQA with q/k/v bias ({@code qkv_bias}, default on), softmax top-k
 * ({@code norm_topk_prob}, default off), one shared expert of {@code shared_expert_intermediate_size} scaled per
 * token by sigmoid({@code shared_expert_gate} · x), dense layers as Qwen3-MoE decides them. Tensor names: the
 * Hub's common layout with a singular {@code mlp.shared_expert.*} and {@code mlp.shared_expert_gate}.
 */
public final class Qwen2Moe implements Architecture {
    private static final TensorNaming NAMING = new TensorNaming() {
        @Override
        public String sharedExpert(int layer, String which) {
            return layer(layer, "mlp.shared_expert." + which + "_proj.weight");
        }

        @Override
        public String sharedExpertGate(int layer) {
            return layer(layer, "mlp.shared_expert_gate.weight");
        }
    };

    @Override
    public String modelType() {
        return "qwen2_moe";
    }

    @Override
    public void readConfig(JsonNode c, ModelConfig.Builder b) {
        b.numExperts = ConfigJson.numExperts(c);
        b.moeIntermediateSize = ConfigJson.intReq(c, "moe_intermediate_size");
        b.denseIntermediateSize = ConfigJson.intOpt(c, "intermediate_size", 0);
        b.sharedExpertIntermediateSize = ConfigJson.intReq(c, "shared_expert_intermediate_size");
        b.sharedExpertGated = true;
        b.attention = new GqaAttention(b.numHeads, b.numKvHeads, b.headDim, QkNorm.NONE,
                ConfigJson.bool(c, "qkv_bias", true), b.headDim);
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
