package io.routingreplay.runtime.model.deepseekv2;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ConfigJson;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.Architecture;
import io.routingreplay.runtime.model.Rope;
import io.routingreplay.runtime.model.TensorNaming;
import io.routingreplay.runtime.model.attention.MlaAttention;
import io.routingreplay.runtime.model.router.SoftmaxGroupLimitedGreedy;
import io.routingreplay.runtime.model.router.SoftmaxTopK;

import java.util.Set;

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
        if (ConfigJson.bool(c, "attention_bias", false)) {
            throw new IllegalArgumentException("unsupported attention_bias: true in config.json; only bias-free "
                    + "MLA projections are implemented");
        }
        if (ConfigJson.bool(c, "norm_topk_prob", false)) {
            throw new IllegalArgumentException("unsupported norm_topk_prob: true in config.json for deepseek_v2; "
                    + "transformers routes with the unnormalised softmax weights times routed_scaling_factor");
        }
        if (ConfigJson.intOpt(c, "moe_layer_freq", 1) != 1) {
            throw new IllegalArgumentException("unsupported moe_layer_freq " + c.get("moe_layer_freq")
                    + " in config.json; every layer from first_k_dense_replace on is MoE");
        }
        String scoring = ConfigJson.text(c, "scoring_func", "softmax");
        if (!"softmax".equals(scoring)) {
            throw new IllegalArgumentException("unsupported scoring_func '" + scoring
                    + "' in config.json; deepseek_v2 routes with softmax");
        }
        b.numExperts = c.hasNonNull("n_routed_experts") ? c.get("n_routed_experts").asInt() : ConfigJson.numExperts(c);
        b.moeIntermediateSize = ConfigJson.intReq(c, "moe_intermediate_size");
        b.denseIntermediateSize = ConfigJson.intOpt(c, "intermediate_size", 0);
        b.sharedExpertIntermediateSize = b.moeIntermediateSize * ConfigJson.intOpt(c, "n_shared_experts", 0);
        int firstDense = ConfigJson.intOpt(c, "first_k_dense_replace", 0);
        b.moeLayer = i -> i >= firstDense;

        int ropeDim = ConfigJson.intReq(c, "qk_rope_head_dim");
        b.attention = new MlaAttention(b.numHeads, ConfigJson.intOpt(c, "q_lora_rank", 0),
                ConfigJson.intReq(c, "kv_lora_rank"), ConfigJson.intReq(c, "qk_nope_head_dim"), ropeDim,
                ConfigJson.intReq(c, "v_head_dim"), true);
        b.headDim = ropeDim;
        b.numKvHeads = b.numHeads;
        b.rope = Rope.read(c, ropeDim, b.maxPositionEmbeddings, Set.of(Rope.DEFAULT, Rope.YARN));
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
