package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.weights.TensorView;

import java.util.function.IntConsumer;

/**
 * The CPU backend's operations, one method each, float32, reductions in a fixed order per row (so a row's result
 * never depends on the other rows of the batch).
 */
final class CpuOps {
    private CpuOps() {
    }

    /** Dot product with 4 interleaved accumulators, combined in a fixed order. */
    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            s0 += a[aOff + i] * b[bOff + i];
            s1 += a[aOff + i + 1] * b[bOff + i + 1];
            s2 += a[aOff + i + 2] * b[bOff + i + 2];
            s3 += a[aOff + i + 3] * b[bOff + i + 3];
        }
        for (; i < n; i++) {
            s0 += a[aOff + i] * b[bOff + i];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Batches from this many rows on take the row-vectorised path of {@link #linear}. */
    static final int VECTOR_ROWS = 4;

    /**
     * out[r][o] = Σ_i in[rowIdx[r]][i] · W[o][i] for W [outDim, inDim] (a Linear layer without bias).
     * Each weight row is converted to float once and applied to every row of the batch. Small batches use
     * {@link #dot}; larger ones transpose tiles of weight rows so the innermost loop runs over outputs (which the
     * JIT vectorises) while keeping exactly {@link #dot}'s summation order, so results never depend on the batch
     * size.
     *
     * @param rows how many input rows (taken in order, or through {@code rowIdx} when non-null)
     */
    static void linear(Parallel par, TensorView w, float[] in, int[] rowIdx, int rows, int inDim, float[] out,
                       int outDim) {
        if (rows < VECTOR_ROWS) {
            par.forRange(outDim, (long) rows * outDim * inDim, new IntConsumer() {
                final ThreadLocal<float[]> rowBuf = ThreadLocal.withInitial(() -> new float[inDim]);

                @Override
                public void accept(int o) {
                    float[] wr = rowBuf.get();
                    w.toFloat((long) o * inDim, wr, 0, inDim);
                    for (int r = 0; r < rows; r++) {
                        int src = rowIdx == null ? r : rowIdx[r];
                        out[r * outDim + o] = dot(in, src * inDim, wr, 0, inDim);
                    }
                }
            });
            return;
        }
        // Tiles of weight rows, transposed once per step into [inDim, tile] so the innermost loop runs over
        // consecutive outputs (long, contiguous: the JIT vectorises it).
        int tile = Math.max(16, Math.min(256, (1 << 16) / inDim)) & ~7;
        int tiles = (outDim + tile - 1) / tile;
        int n4 = inDim & ~3;
        par.forRange(tiles, (long) rows * outDim * inDim, new IntConsumer() {
            final ThreadLocal<float[][]> buf = ThreadLocal.withInitial(() -> new float[][]{
                    new float[inDim], new float[inDim * tile],
                    new float[tile], new float[tile], new float[tile], new float[tile]});

            @Override
            public void accept(int t) {
                float[][] b = buf.get();
                float[] wr = b[0], wT = b[1], s0 = b[2], s1 = b[3], s2 = b[4], s3 = b[5];
                int o0 = t * tile;
                int m = Math.min(tile, outDim - o0);
                for (int j = 0; j < m; j++) {
                    w.toFloat((long) (o0 + j) * inDim, wr, 0, inDim);
                    for (int i = 0; i < inDim; i++) {
                        wT[i * tile + j] = wr[i];
                    }
                }
                for (int r = 0; r < rows; r++) {
                    int src = (rowIdx == null ? r : rowIdx[r]) * inDim;
                    java.util.Arrays.fill(s0, 0, m, 0f);
                    java.util.Arrays.fill(s1, 0, m, 0f);
                    java.util.Arrays.fill(s2, 0, m, 0f);
                    java.util.Arrays.fill(s3, 0, m, 0f);
                    for (int i = 0; i < n4; i += 4) {
                        axpy(s0, in[src + i], wT, i * tile, m);
                        axpy(s1, in[src + i + 1], wT, (i + 1) * tile, m);
                        axpy(s2, in[src + i + 2], wT, (i + 2) * tile, m);
                        axpy(s3, in[src + i + 3], wT, (i + 3) * tile, m);
                    }
                    for (int i = n4; i < inDim; i++) {
                        axpy(s0, in[src + i], wT, i * tile, m);
                    }
                    int dst = r * outDim + o0;
                    for (int j = 0; j < m; j++) {
                        out[dst + j] = (s0[j] + s1[j]) + (s2[j] + s3[j]);
                    }
                }
            }
        });
    }

    /** acc[j] += a · x[xOff + j] for j in [0, n): a loop the JIT turns into SIMD. */
    private static void axpy(float[] acc, float a, float[] x, int xOff, int n) {
        for (int r = 0; r < n; r++) {
            acc[r] += a * x[xOff + r];
        }
    }

    /** RMSNorm of {@code n} values in place-or-copy: out = x / sqrt(mean(x²) + eps) * weight. */
    static void rmsNorm(float[] x, int xOff, float[] weight, int wOff, float eps, float[] out, int outOff, int n) {
        float ss = 0;
        for (int i = 0; i < n; i++) {
            ss += x[xOff + i] * x[xOff + i];
        }
        float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) {
            out[outOff + i] = weight[wOff + i] * (x[xOff + i] * inv);
        }
    }

    /** Rotates one head in place, Hugging Face's rotate_half layout: pairs (i, i + d/2). */
    static void rope(float[] x, int off, int headDim, float[] cos, float[] sin, int tableOff) {
        int half = headDim / 2;
        for (int i = 0; i < half; i++) {
            float a = x[off + i];
            float b = x[off + i + half];
            float c = cos[tableOff + i];
            float s = sin[tableOff + i];
            x[off + i] = a * c - b * s;
            x[off + i + half] = b * c + a * s;
        }
    }

    /**
     * Rotates one head stored in interleaved pairs (x0, x1), (x2, x3)… (DeepSeek's {@code rope_interleave}) and
     * writes it de-interleaved, as transformers' {@code apply_rotary_pos_emb_interleave} does:
     * [x_even·cos − x_odd·sin | x_odd·cos + x_even·sin].
     */
    static void ropeInterleaved(float[] x, int off, int dim, float[] cos, float[] sin, int tableOff, float[] tmp) {
        int half = dim / 2;
        System.arraycopy(x, off, tmp, 0, dim);
        for (int i = 0; i < half; i++) {
            float a = tmp[2 * i];
            float b = tmp[2 * i + 1];
            float c = cos[tableOff + i];
            float s = sin[tableOff + i];
            x[off + i] = a * c - b * s;
            x[off + i + half] = b * c + a * s;
        }
    }

    static float silu(float x) {
        return x / (1f + (float) Math.exp(-x));
    }
}
