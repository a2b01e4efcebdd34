package io.routingreplay.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ModelConfig;

/**
 * One MoE decoder family ({@code model_type} in config.json): how its config is read into the parts a layer is
 * made of (attention kind, router kind, shared experts, which layers are dense, RoPE) and how its checkpoint names
 * its tensors. Each lives in its own package under {@code model/} and is listed once in {@link Architectures}.
 */
public interface Architecture {
    /** The {@code model_type} value of config.json. */
    String modelType();

    /** Fills the family's parts into {@code b}, whose common keys (sizes, heads, top-k, eps, EOS…) are already read. */
    void readConfig(JsonNode config, ModelConfig.Builder b);

    TensorNaming naming();
}
