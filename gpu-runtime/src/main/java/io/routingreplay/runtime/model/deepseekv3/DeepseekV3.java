package io.routingreplay.runtime.model.deepseekv3;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ConfigJson;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.Architecture;
import io.routingreplay.runtime.model.SharedExpertMoe;
import io.routingreplay.runtime.model.TensorNaming;
import io.routingreplay.runtime.model.attention.MlaAttention;
import io.routingreplay.runtime.model.router.SigmoidGroupLimited;


/**
 * DeepSeek-V3 (also Moonlight, Kimi-K2, DeepSeek-R1 shapes): MLA attention with default or YaRN RoPE; dense MLP
 * in the first {@code first_k_dense_replace} layers; MoE layers route with sigmoid scores plus
 * {@code e_score_correction_bias} in {@code n_group} groups ({@link SigmoidGroupLimited}) and add
 * {@code n_shared_experts} always-on shared experts. The Hub's common tensor layout plus
 * {@code mlp.shared_experts.*} and {@code mlp.gate.e_score_correction_bias}; the multi-token-prediction layers
 * after {@code num_hidden_layers} are not loaded.
 */
public final class DeepseekV3 implements Architecture {
    private static final TensorNaming NAMING = new TensorNaming() {
    };

    @Override
    public String modelType() {
        return "deepseek_v3";
    }

    @Override
    public void readConfig(JsonNode c, ModelConfig.Builder b) {
        String scoring = ConfigJson.text(c, "scoring_func", "sigmoid");
        String method = ConfigJson.text(c, "topk_method", "noaux_tc");
        if (!"sigmoid".equals(scoring) || !"noaux_tc".equals(method)) {
            throw new IllegalArgumentException("unsupported scoring_func '" + scoring + "' / topk_method '" + method
                    + "' in config.json; deepseek_v3 routes with sigmoid / noaux_tc");
        }
        SharedExpertMoe.read(c, b, 0, 0);
        MlaAttention.read(c, b, true);
        b.router = SigmoidGroupLimited.read(c, b.numExperts, b.topK);
    }

    @Override
    public TensorNaming naming() {
        return NAMING;
    }
}
