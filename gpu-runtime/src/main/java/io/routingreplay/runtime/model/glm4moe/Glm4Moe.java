package io.routingreplay.runtime.model.glm4moe;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ConfigJson;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.model.Architecture;
import io.routingreplay.runtime.model.Rope;
import io.routingreplay.runtime.model.TensorNaming;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.router.SigmoidGroupLimited;

import java.util.Set;

/**
 * GLM-4.5 / 4.6 ({@code glm4_moe}): GQA with q/k/v bias ({@code attention_bias}), RoPE on the first
 * {@code partial_rotary_factor} of each head (rotate_half within it), optional per-head q/k RMSNorm
 * ({@code use_qk_norm}); DeepSeek-V3's routing ({@link SigmoidGroupLimited}) and shared experts; dense MLP in the
 * first {@code first_k_dense_replace} layers. The Hub's common layout plus {@code mlp.shared_experts.*} and
 * {@code mlp.gate.e_score_correction_bias}; the multi-token-prediction layers after {@code num_hidden_layers} are
 * not loaded.
 */
public final class Glm4Moe implements Architecture {
    private static final TensorNaming NAMING = new TensorNaming() {
    };

    @Override
    public String modelType() {
        return "glm4_moe";
    }

    @Override
    public void readConfig(JsonNode c, ModelConfig.Builder b) {
        b.numExperts = c.hasNonNull("n_routed_experts") ? c.get("n_routed_experts").asInt() : ConfigJson.numExperts(c);
        b.moeIntermediateSize = ConfigJson.intReq(c, "moe_intermediate_size");
        b.denseIntermediateSize = ConfigJson.intOpt(c, "intermediate_size", 0);
        b.sharedExpertIntermediateSize = b.moeIntermediateSize * ConfigJson.intOpt(c, "n_shared_experts", 0);
        int firstDense = ConfigJson.intOpt(c, "first_k_dense_replace", 0);
        b.moeLayer = i -> i >= firstDense;
        double partial = ConfigJson.doubleOpt(c, "partial_rotary_factor",
                c.hasNonNull("rope_parameters") ? ConfigJson.doubleOpt(c.get("rope_parameters"),
                        "partial_rotary_factor", 1.0) : 1.0);
        int rotaryDim = (int) (b.headDim * partial);
        b.attention = new GqaAttention(b.numHeads, b.numKvHeads, b.headDim,
                ConfigJson.bool(c, "use_qk_norm", false) ? QkNorm.PER_HEAD : QkNorm.NONE,
                ConfigJson.bool(c, "attention_bias", false), rotaryDim);
        b.rope = Rope.read(c, rotaryDim, b.maxPositionEmbeddings, Set.of(Rope.DEFAULT));
        b.router = new SigmoidGroupLimited(b.numExperts, b.topK, ConfigJson.intOpt(c, "n_group", 1),
                ConfigJson.intOpt(c, "topk_group", 1), ConfigJson.bool(c, "norm_topk_prob", true),
                (float) ConfigJson.doubleOpt(c, "routed_scaling_factor", 1.0));
    }

    @Override
    public TensorNaming naming() {
        return NAMING;
    }
}
