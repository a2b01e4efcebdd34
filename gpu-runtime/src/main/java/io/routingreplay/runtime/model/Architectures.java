package io.routingreplay.runtime.model;

import io.routingreplay.runtime.model.deepseekv2.DeepseekV2;
import io.routingreplay.runtime.model.deepseekv3.DeepseekV3;
import io.routingreplay.runtime.model.glm4moe.Glm4Moe;
import io.routingreplay.runtime.model.mixtral.Mixtral;
import io.routingreplay.runtime.model.olmoe.Olmoe;
import io.routingreplay.runtime.model.qwen2moe.Qwen2Moe;
import io.routingreplay.runtime.model.qwen3moe.Qwen3Moe;

import java.util.List;

/** The architectures the engine runs, one line each. */
public final class Architectures {
    public static final List<Architecture> ALL = List.of(
            new Qwen3Moe(),
            new Mixtral(),
            new Olmoe(),
            new DeepseekV3(),
            new DeepseekV2(),
            new Glm4Moe(),
            new Qwen2Moe());

    private Architectures() {
    }

    public static Architecture forModelType(String modelType) {
        for (Architecture a : ALL) {
            if (a.modelType().equals(modelType)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unsupported model_type '" + modelType + "' in config.json; supported: "
                + ALL.stream().map(Architecture::modelType).toList());
    }
}
