package io.routingreplay.runtime.model.qwen3moe;

import io.routingreplay.runtime.model.TensorNaming;

/** Qwen3-MoE: {@code mlp.gate} router, {@code mlp.experts.N.{gate,up,down}_proj}, per-head q/k norms. */
public final class Qwen3MoeNaming implements TensorNaming {
    @Override
    public String router(int layer) {
        return layer(layer, "mlp.gate.weight");
    }

    @Override
    public String expert(int layer, int expert, String which) {
        return layer(layer, "mlp.experts." + expert + "." + which + "_proj.weight");
    }
}
