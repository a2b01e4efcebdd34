package io.routingreplay.runtime.model.qwen2moe;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ConfigJson;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.model.Architecture;
import io.routingreplay.runtime.model.Rope;
import io.routingreplay.runtime.model.TensorNaming;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.qwen3moe.Qwen3Moe;
import io.routingreplay.runtime.model.router.SoftmaxTopK;

import java.util.Set;

/**
 * Qwen2-MoE (Qwen1.5-MoE-A2.7B, Qwen2-57B-A14B): GQA with q/k/v bias ({@code qkv_bias}, on unless the config says
 * otherwise), softmax top-k ({@code norm_topk_prob}, off in every release), one always-on shared expert of
 * {@code shared_expert_intermediate_size} scaled per token by sigmoid({@code shared_expert_gate} · x), dense layers
 * decided as Qwen3-MoE decides them. Tensor names: the Hub's common layout with a singular
 * {@code mlp.shared_expert.*} and {@code mlp.shared_expert_gate}.
 */
public final class Qwen2Moe implements Architecture {
    private static final TensorNaming NAMING = new TensorNaming() {
        @Override
        public String sharedExpert(int layer, String which) {
            return layer(layer, "mlp.shared_expert." + which + "_proj.weight");
        }
    };

    @Override
    public String modelType() {
        return "qwen2_moe";
    }

    @Override
    public void readConfig(JsonNode c, ModelConfig.Builder b) {
        if (ConfigJson.bool(c, "use_sliding_window", false)) {
            throw new IllegalArgumentException("unsupported use_sliding_window: true in config.json (qwen2_moe with "
                    + "sliding-window attention); only full attention is implemented");
        }
        b.numExperts = ConfigJson.numExperts(c);
        b.moeIntermediateSize = ConfigJson.intReq(c, "moe_intermediate_size");
        b.denseIntermediateSize = ConfigJson.intOpt(c, "intermediate_size", 0);
        b.sharedExpertIntermediateSize = ConfigJson.intReq(c, "shared_expert_intermediate_size");
        b.sharedExpertGated = true;
        b.attention = new GqaAttention(b.numHeads, b.numKvHeads, b.headDim, QkNorm.NONE,
                ConfigJson.bool(c, "qkv_bias", true), b.headDim);
        b.router = new SoftmaxTopK(b.numExperts, b.topK, ConfigJson.bool(c, "norm_topk_prob", false), 1f);
        b.rope = Rope.read(c, b.headDim, b.maxPositionEmbeddings, Set.of(Rope.DEFAULT));
        b.moeLayer = Qwen3Moe.sparseLayers(c);
    }

    @Override
    public TensorNaming naming() {
        return NAMING;
    }
}
