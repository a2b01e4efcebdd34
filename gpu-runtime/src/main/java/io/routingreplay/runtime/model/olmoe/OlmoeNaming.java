package io.routingreplay.runtime.model.olmoe;

import io.routingreplay.runtime.model.TensorNaming;

/** OLMoE: the same names as Qwen3-MoE; its q/k norms span the full projection width. */
public final class OlmoeNaming implements TensorNaming {
    @Override
    public String router(int layer) {
        return layer(layer, "mlp.gate.weight");
    }

    @Override
    public String expert(int layer, int expert, String which) {
        return layer(layer, "mlp.experts." + expert + "." + which + "_proj.weight");
    }
}
