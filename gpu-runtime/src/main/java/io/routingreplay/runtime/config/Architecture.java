package io.routingreplay.runtime.config;

import java.util.Arrays;

/** The MoE decoder families the engine runs; each maps to a {@code model_type} in {@code config.json}. */
public enum Architecture {
    QWEN3_MOE("qwen3_moe"),
    MIXTRAL("mixtral"),
    OLMOE("olmoe");

    private final String modelType;

    Architecture(String modelType) {
        this.modelType = modelType;
    }

    public String modelType() {
        return modelType;
    }

    public static Architecture fromModelType(String modelType) {
        for (Architecture a : values()) {
            if (a.modelType.equals(modelType)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unsupported model_type '" + modelType + "' in config.json; supported: "
                + Arrays.stream(values()).map(Architecture::modelType).toList());
    }
}
