package io.routingreplay.runtime.model.deepseekv3;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ConfigJson;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.Architecture;
import io.routingreplay.runtime.model.Rope;
import io.routingreplay.runtime.model.TensorNaming;
import io.routingreplay.runtime.model.attention.MlaAttention;
import io.routingreplay.runtime.model.router.SigmoidGroupLimited;

import java.util.Set;

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
        if (ConfigJson.bool(c, "attention_bias", false)) {
            throw new IllegalArgumentException("unsupported attention_bias: true in config.json; only bias-free "
                    + "MLA projections are implemented");
        }
        String scoring = ConfigJson.text(c, "scoring_func", "sigmoid");
        String method = ConfigJson.text(c, "topk_method", "noaux_tc");
        if (!"sigmoid".equals(scoring) || !"noaux_tc".equals(method)) {
            throw new IllegalArgumentException("unsupported scoring_func '" + scoring + "' / topk_method '" + method
                    + "' in config.json; deepseek_v3 routes with sigmoid / noaux_tc");
        }
        if (ConfigJson.intOpt(c, "moe_layer_freq", 1) != 1) {
            throw new IllegalArgumentException("unsupported moe_layer_freq " + c.get("moe_layer_freq")
                    + " in config.json; every layer from first_k_dense_replace on is MoE");
        }
        b.numExperts = c.hasNonNull("n_routed_experts") ? c.get("n_routed_experts").asInt() : ConfigJson.numExperts(c);
        b.moeIntermediateSize = ConfigJson.intReq(c, "moe_intermediate_size");
        b.denseIntermediateSize = ConfigJson.intOpt(c, "intermediate_size", 0);
        b.sharedExpertIntermediateSize = b.moeIntermediateSize * ConfigJson.intOpt(c, "n_shared_experts", 0);
        int firstDense = ConfigJson.intOpt(c, "first_k_dense_replace", 0);
        b.moeLayer = i -> i >= firstDense;

        int ropeDim = ConfigJson.intReq(c, "qk_rope_head_dim");
        MlaAttention mla = new MlaAttention(b.numHeads, ConfigJson.intOpt(c, "q_lora_rank", 0),
                ConfigJson.intReq(c, "kv_lora_rank"), ConfigJson.intReq(c, "qk_nope_head_dim"), ropeDim,
                ConfigJson.intReq(c, "v_head_dim"), ConfigJson.bool(c, "rope_interleave", true));
        b.attention = mla;
        b.headDim = ropeDim;            // transformers' head_dim for MLA is the rotary width
        b.numKvHeads = b.numHeads;      // the cache holds one decompressed K/V head per query head
        b.rope = Rope.read(c, ropeDim, b.maxPositionEmbeddings, Set.of(Rope.DEFAULT, Rope.YARN));
        b.router = new SigmoidGroupLimited(b.numExperts, b.topK, ConfigJson.intOpt(c, "n_group", 1),
                ConfigJson.intOpt(c, "topk_group", 1), ConfigJson.bool(c, "norm_topk_prob", true),
                (float) ConfigJson.doubleOpt(c, "routed_scaling_factor", 1.0));
    }

    @Override
    public TensorNaming naming() {
        return NAMING;
    }
}
