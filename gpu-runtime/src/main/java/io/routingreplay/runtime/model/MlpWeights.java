package io.routingreplay.runtime.model;

import io.routingreplay.runtime.weights.TensorView;

/** One SwiGLU MLP: down(silu(gate · x) * (up · x)); a dense layer's MLP or a shared expert block. */
public record MlpWeights(TensorView gate, TensorView up, TensorView down) {

    /** Loads gate/up [inter, hidden] and down [hidden, inter] under the names {@code name.apply(which)}. */
    static MlpWeights load(io.routingreplay.runtime.weights.WeightStore store,
                           java.util.function.Function<String, String> name, long inter, long hidden) {
        return new MlpWeights(store.get(name.apply("gate")).expectShape(inter, hidden),
                store.get(name.apply("up")).expectShape(inter, hidden),
                store.get(name.apply("down")).expectShape(hidden, inter));
    }
}
