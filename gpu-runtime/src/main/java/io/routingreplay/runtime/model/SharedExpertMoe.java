package io.routingreplay.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ConfigJson;
import io.routingreplay.runtime.config.ModelConfig;

/**
 * The MoE layout DeepSeek-V2/V3 and GLM-4.5 share: {@code n_routed_experts} routed experts of
 * {@code moe_intermediate_size}, {@code n_shared_experts} always-on shared experts of that width fused into one
 * block, and a dense MLP of {@code intermediate_size} in the first {@code first_k_dense_replace} layers.
 */
public final class SharedExpertMoe {
    private SharedExpertMoe() {
    }

    /**
     * Reads the layout into {@code b}; the defaults are the architecture's transformers config defaults for the two
     * keys whose defaults differ between the families.
     */
    public static void read(JsonNode c, ModelConfig.Builder b, int defaultSharedExperts, int defaultFirstDense) {
        if (ConfigJson.intOpt(c, "moe_layer_freq", 1) != 1) {
            throw new IllegalArgumentException("unsupported moe_layer_freq " + c.get("moe_layer_freq")
                    + " in config.json; every layer from first_k_dense_replace on is MoE");
        }
        b.numExperts = c.hasNonNull("n_routed_experts") ? c.get("n_routed_experts").asInt() : ConfigJson.numExperts(c);
        b.moeIntermediateSize = ConfigJson.intReq(c, "moe_intermediate_size");
        b.denseIntermediateSize = ConfigJson.intOpt(c, "intermediate_size", 0);
        b.sharedExpertIntermediateSize = b.moeIntermediateSize
                * ConfigJson.intOpt(c, "n_shared_experts", defaultSharedExperts);
        int firstDense = ConfigJson.intOpt(c, "first_k_dense_replace", defaultFirstDense);
        b.moeLayer = i -> i >= firstDense;
    }
}
