package io.routingreplay.runtime.model.mixtral;

import io.routingreplay.runtime.model.TensorNaming;

/** Mixtral: {@code block_sparse_moe.gate} router, experts {@code w1} (gate), {@code w3} (up), {@code w2} (down). */
public final class MixtralNaming implements TensorNaming {
    @Override
    public String router(int layer) {
        return layer(layer, "block_sparse_moe.gate.weight");
    }

    @Override
    public String expert(int layer, int expert, String which) {
        String w = switch (which) {
            case "gate" -> "w1";
            case "down" -> "w2";
            case "up" -> "w3";
            default -> throw new IllegalArgumentException(which);
        };
        return layer(layer, "block_sparse_moe.experts." + expert + "." + w + ".weight");
    }

    @Override
    public String denseMlp(int layer, String which) {
        throw new IllegalStateException("Mixtral has no dense MLP layers");
    }
}
