package io.routingreplay.runtime.model.glm4moe;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ConfigJson;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.model.Architecture;
import io.routingreplay.runtime.model.Rope;
import io.routingreplay.runtime.model.SharedExpertMoe;
import io.routingreplay.runtime.model.TensorNaming;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.router.SigmoidGroupLimited;

import java.util.Set;

/**
 * GLM-4.5 / 4.6 ({@code glm4_moe}): GQA of {@code head_dim}-wide heads (not hidden / heads) with q/k/v bias
 * ({@code attention_bias}), optional per-head q/k RMSNorm ({@code use_qk_norm}) and RoPE in rotate_half form on the
 * first {@code head_dim × partial_rotary_factor} dims of each head; DeepSeek-V3's routing ({@link SigmoidGroupLimited})
 * and {@code n_shared_experts} always-on shared experts; a dense MLP in the first {@code first_k_dense_replace}
 * layers. The Hub's common tensor layout plus {@code mlp.shared_experts.*} and
 * {@code mlp.gate.e_score_correction_bias}; the multi-token-prediction layers after {@code num_hidden_layers} are
 * not loaded.
 */
public final class Glm4Moe implements Architecture {
    /** transformers' Glm4MoeConfig default when the key is absent (every GLM-4.5/4.6 release has 0.5). */
    static final double DEFAULT_PARTIAL_ROTARY_FACTOR = 0.5;

    private static final TensorNaming NAMING = new TensorNaming() {
    };

    @Override
    public String modelType() {
        return "glm4_moe";
    }

    @Override
    public void readConfig(JsonNode c, ModelConfig.Builder b) {
        SharedExpertMoe.read(c, b, 1, 1);   // transformers' Glm4MoeConfig defaults
        int rotaryDim = (int) (b.headDim * partialRotaryFactor(c));   // transformers: int(head_dim * factor)
        b.attention = new GqaAttention(b.numHeads, b.numKvHeads, b.headDim,
                ConfigJson.bool(c, "use_qk_norm", false) ? QkNorm.PER_HEAD : QkNorm.NONE,
                ConfigJson.bool(c, "attention_bias", false), rotaryDim);
        b.rope = Rope.read(c, rotaryDim, b.maxPositionEmbeddings, Set.of(Rope.DEFAULT));
        b.router = SigmoidGroupLimited.read(c, b.numExperts, b.topK);
    }

    /** The Hub's top-level {@code partial_rotary_factor}, or transformers 5's inside {@code rope_parameters}. */
    static double partialRotaryFactor(JsonNode c) {
        if (c.hasNonNull("partial_rotary_factor")) {
            return c.get("partial_rotary_factor").asDouble();
        }
        JsonNode params = c.get("rope_parameters");
        return params != null && params.hasNonNull("partial_rotary_factor")
                ? params.get("partial_rotary_factor").asDouble() : DEFAULT_PARTIAL_ROTARY_FACTOR;
    }

    @Override
    public TensorNaming naming() {
        return NAMING;
    }
}
