package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.engine.GemmInputs;
import io.routingreplay.runtime.weights.Dtype;
import io.routingreplay.runtime.weights.TensorView;

/**
 * The matrix products of the linear layers ({@link CpuOps#linear}) with the engine's {@link GemmInputs}: with BF16
 * each input value is rounded to bf16 first, which is what the CUDA backend's products then multiply (the hi halves of
 * its split rows). The MoE router and the shared-expert gate row are not such products: both backends compute them
 * from the fp32 values (CpuOps.linear directly).
 */
final class CpuProducts {
    final Parallel par;
    private final GemmInputs inputs;

    CpuProducts(Parallel par, GemmInputs inputs) {
        this.par = par;
        this.inputs = inputs;
    }

    /** {@link CpuOps#linear}'s out[r][o] = Σ_i x[rowIdx[r]][i] · W[o][i], x being {@code in} as the products take
     *  it. */
    void linear(TensorView w, float[] in, int[] rowIdx, int rows, int inDim, float[] out, int outDim) {
        if (inputs == GemmInputs.SPLIT) {
            CpuOps.linear(par, w, in, rowIdx, rows, inDim, out, outDim);
            return;
        }
        float[] x = new float[rows * inDim];
        for (int r = 0; r < rows; r++) {
            int src = (rowIdx == null ? r : rowIdx[r]) * inDim;
            for (int i = 0; i < inDim; i++) {
                x[r * inDim + i] = Dtype.bf16ToFloat(Dtype.floatToBf16(in[src + i]));
            }
        }
        CpuOps.linear(par, w, x, null, rows, inDim, out, outDim);
    }
}
