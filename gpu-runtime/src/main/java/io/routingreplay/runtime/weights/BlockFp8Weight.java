package io.routingreplay.runtime.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One fp8 block-quantized weight as the Hub stores it (DeepSeek-V3/R1, Qwen3-*-FP8): float8_e4m3fn codes
 * {@code [rows, cols]} and {@code <name>_scale_inv} of shape {@code [ceil(rows / bm), ceil(cols / bn)]};
 * {@code W[i][j] = e4m3(code[i][j]) × scale_inv[i / bm][j / bn]}, the product in float32, rounded to bf16 (nearest
 * even): the values transformers' fp8 dequantization and DeepSeek's {@code fp8_cast_bf16.py} give a bf16 model.
 * Edge blocks may be partial (DeepSeek's 576-row {@code kv_a_proj_with_mqa}).
 */
final class BlockFp8Weight {
    private final String name;
    private final long[] shape;
    private final int cols;
    private final int blockRows;
    private final int blockCols;
    private final int scaleCols;
    private final ByteBuffer codes;
    private final float[] scaleInv;

    BlockFp8Weight(TensorView codes, TensorView scaleInv, int blockRows, int blockCols) {
        if (codes.dtype != Dtype.F8_E4M3) {
            throw new IllegalArgumentException("tensor '" + codes.name + "' is " + codes.dtype + ", not F8_E4M3");
        }
        if (codes.shape.length != 2) {
            throw new IllegalArgumentException("fp8 weight '" + codes.name + "' has shape "
                    + Arrays.toString(codes.shape) + "; block scales are defined for 2-D weights only");
        }
        if (scaleInv.dtype == Dtype.F8_E4M3) {
            throw new IllegalArgumentException("scale '" + scaleInv.name + "' is F8_E4M3; block scales must be F32,"
                    + " BF16 or F16");
        }
        long rows = codes.shape[0];
        long[] want = {ceilDiv(rows, blockRows), ceilDiv(codes.shape[1], blockCols)};
        if (!Arrays.equals(scaleInv.shape, want)) {
            throw new IllegalArgumentException("scale '" + scaleInv.name + "' has shape "
                    + Arrays.toString(scaleInv.shape) + "; weight '" + codes.name + "' " + Arrays.toString(codes.shape)
                    + " with weight_block_size [" + blockRows + ", " + blockCols + "] needs " + Arrays.toString(want));
        }
        this.name = codes.name;
        this.shape = codes.shape.clone();
        this.cols = Math.toIntExact(codes.shape[1]);
        this.blockRows = blockRows;
        this.blockCols = blockCols;
        this.scaleCols = Math.toIntExact(want[1]);
        this.codes = codes.bytes();
        this.scaleInv = scaleInv.toFloatArray();
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    String name() {
        return name;
    }

    long[] shape() {
        return shape.clone();
    }

    private static float toBf16(float x) {
        return Dtype.bf16ToFloat(Dtype.floatToBf16(x));
    }

    float get(long index) {
        long r = index / cols;
        int c = (int) (index % cols);
        float s = scaleInv[Math.toIntExact(r / blockRows) * scaleCols + c / blockCols];
        return toBf16(Fp8E4m3.decode(codes.get(Math.toIntExact(index))) * s);
    }

    void toFloat(long from, float[] dst, int dstOff, int n) {
        long r = from / cols;
        int c = (int) (from % cols);
        int at = Math.toIntExact(from);
        for (int i = 0; i < n; i++) {
            float s = scaleInv[Math.toIntExact(r / blockRows) * scaleCols + c / blockCols];
            dst[dstOff + i] = toBf16(Fp8E4m3.decode(codes.get(at + i)) * s);
            if (++c == cols) {
                c = 0;
                r++;
            }
        }
    }

    /** All values as little-endian bf16, in a new direct buffer positioned at 0 (as DeviceWeights' own bf16
     *  conversion makes for cuMemcpyHtoD); it lives only as long as the caller holds it. */
    ByteBuffer toBf16Bytes() {
        int n = codes.capacity();
        if (n > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("fp8 weight '" + name + "' " + Arrays.toString(shape)
                    + " is larger than 1 Gi elements, more than one bf16 buffer holds");
        }
        ByteBuffer out = ByteBuffer.allocateDirect(n * 2).order(ByteOrder.LITTLE_ENDIAN);
        float[] row = new float[cols];
        for (int off = 0; off < n; off += cols) {
            toFloat(off, row, 0, cols);
            for (float v : row) {
                out.putShort(Dtype.floatToBf16(v));
            }
        }
        return out.flip();
    }
}
