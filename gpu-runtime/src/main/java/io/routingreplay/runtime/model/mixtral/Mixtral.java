package io.routingreplay.runtime.model.mixtral;

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
 * Mixtral: GQA without q/k norm, softmax over the selected logits (the same as renormalising the top-k softmax),
 * every layer MoE, experts of {@code intermediate_size} named {@code block_sparse_moe.experts.N.w1/w2/w3}.
 */
public final class Mixtral implements Architecture {
    private static final TensorNaming NAMING = new MixtralNaming();

    @Override
    public String modelType() {
        return "mixtral";
    }

    @Override
    public void readConfig(JsonNode c, ModelConfig.Builder b) {
        b.numExperts = ConfigJson.numExperts(c);
        b.moeIntermediateSize = ConfigJson.intOpt(c, "intermediate_size", 0);
        b.attention = GqaAttention.read(c, b, QkNorm.NONE);
        b.router = new SoftmaxTopK(b.numExperts, b.topK, true, 1f);
        b.rope = Rope.read(c, b.headDim, b.maxPositionEmbeddings, Set.of(Rope.DEFAULT));
    }

    @Override
    public TensorNaming naming() {
        return NAMING;
    }
}
