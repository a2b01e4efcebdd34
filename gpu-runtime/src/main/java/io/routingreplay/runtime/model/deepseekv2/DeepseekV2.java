package io.routingreplay.runtime.model.deepseekv2;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ConfigJson;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.Architecture;
import io.routingreplay.runtime.model.SharedExpertMoe;
import io.routingreplay.runtime.model.TensorNaming;
import io.routingreplay.runtime.model.attention.MlaAttention;
import io.routingreplay.runtime.model.router.SoftmaxGroupLimitedGreedy;
import io.routingreplay.runtime.model.router.SoftmaxTopK;


/**
 * DeepSeek-V2 and V2-Lite: MLA attention (V2-Lite without {@code q_lora_rank}) whose rotary pairs are interleaved
 * (transformers rotates them as complex numbers), default or YaRN RoPE; dense MLP in the first
 * {@code first_k_dense_replace} layers; MoE layers route by softmax, {@code topk_method} "greedy"
 * ({@link SoftmaxTopK}) or "group_limited_greedy" ({@link SoftmaxGroupLimitedGreedy}), weights times
 * {@code routed_scaling_factor} (transformers 5.17 does not renormalise them), plus {@code n_shared_experts}
 * always-on shared experts. The Hub's common tensor layout plus {@code mlp.shared_experts.*}.
 */
public final class DeepseekV2 implements Architecture {
    private static final TensorNaming NAMING = new TensorNaming() {
    };

    @Override
    public String modelType() {
        return "deepseek_v2";
    }

    @Override
    public void readConfig(JsonNode c, ModelConfig.Builder b) {
        if (ConfigJson.bool(c, "norm_topk_prob", false)) {
            throw new IllegalArgumentException("unsupported norm_topk_prob: true in config.json for deepseek_v2; "
                    + "transformers routes with the unnormalised softmax weights times routed_scaling_factor");
        }
        String scoring = ConfigJson.text(c, "scoring_func", "softmax");
        if (!"softmax".equals(scoring)) {
            throw new IllegalArgumentException("unsupported scoring_func '" + scoring
                    + "' in config.json; deepseek_v2 routes with softmax");
        }
        SharedExpertMoe.read(c, b, 0, 0);
        MlaAttention.read(c, b, false);
        float scaling = (float) ConfigJson.doubleOpt(c, "routed_scaling_factor", 1.0);
        String method = ConfigJson.text(c, "topk_method", "greedy");
        b.router = switch (method) {
            case "greedy" -> new SoftmaxTopK(b.numExperts, b.topK, false, scaling);
            case "group_limited_greedy" -> new SoftmaxGroupLimitedGreedy(b.numExperts, b.topK,
                    ConfigJson.intReq(c, "n_group"), ConfigJson.intReq(c, "topk_group"), false, scaling);
            default -> throw new IllegalArgumentException("unsupported topk_method '" + method
                    + "' in config.json; deepseek_v2 implements greedy and group_limited_greedy");
        };
    }

    @Override
    public TensorNaming naming() {
        return NAMING;
    }
}
