package io.routingreplay.runtime.model.olmoe;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ConfigJson;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.model.Architecture;
import io.routingreplay.runtime.model.Rope;
import io.routingreplay.runtime.model.TensorNaming;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.router.SoftmaxTopK;

import java.util.Set;

/**
 * OLMoE: GQA whose {@code self_attn.q_norm}/{@code k_norm} span the full projection width, softmax top-k
 * ({@code norm_topk_prob}), every layer MoE. The Hub's common tensor layout.
 */
public final class Olmoe implements Architecture {
    private static final TensorNaming NAMING = new TensorNaming() {
    };

    @Override
    public String modelType() {
        return "olmoe";
    }

    @Override
    public void readConfig(JsonNode c, ModelConfig.Builder b) {
        if (c.hasNonNull("clip_qkv")) {
            throw new IllegalArgumentException("unsupported clip_qkv " + c.get("clip_qkv")
                    + " in config.json (OLMoE with q/k/v clipping); only clip_qkv: null is implemented");
        }
        b.numExperts = ConfigJson.numExperts(c);
        b.moeIntermediateSize = ConfigJson.intOpt(c, "intermediate_size", 0);
        b.attention = GqaAttention.read(c, b, QkNorm.FULL);
        b.router = new SoftmaxTopK(b.numExperts, b.topK, ConfigJson.bool(c, "norm_topk_prob", false), 1f);
        b.rope = Rope.read(c, b.headDim, b.maxPositionEmbeddings, Set.of(Rope.DEFAULT));
    }

    @Override
    public TensorNaming naming() {
        return NAMING;
    }
}
