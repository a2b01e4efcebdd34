package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.model.MlpWeights;
import io.routingreplay.runtime.weights.TensorView;

/** SwiGLU MLPs on the CPU: a dense layer's MLP, a shared expert block, one routed expert. */
final class CpuMlp {
    private CpuMlp() {
    }

    /** silu(gate · x) * (up · x) for the given rows of xn (all T when {@code rows} is null): [m, inter]. */
    static float[] swiglu(CpuProducts products, TensorView gateW, TensorView upW, float[] xn, int[] rows, int m,
                          int hidden, int inter) {
        float[] gate = new float[m * inter];
        float[] up = new float[m * inter];
        products.linear(gateW, xn, rows, m, hidden, gate, inter);
        products.linear(upW, xn, rows, m, hidden, up, inter);
        for (int i = 0; i < m * inter; i++) {
            gate[i] = CpuOps.silu(gate[i]) * up[i];
        }
        return gate;
    }

    /** down(swiglu(xn)) for all T rows: [T, hidden] (over the intermediate columns {@code w} holds: on a sharded
     *  model this rank's slice, a partial sum). */
    static float[] forward(CpuProducts products, MlpWeights w, float[] xn, int T, int hidden) {
        int inter = (int) w.gate().shape[0];
        float[] act = swiglu(products, w.gate(), w.up(), xn, null, T, hidden, inter);
        float[] down = new float[T * hidden];
        products.linear(w.down(), act, null, T, inter, down, hidden);
        return down;
    }
}
