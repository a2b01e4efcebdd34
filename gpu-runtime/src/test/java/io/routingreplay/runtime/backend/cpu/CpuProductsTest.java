package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.engine.GemmInputs;
import io.routingreplay.runtime.weights.Dtype;
import io.routingreplay.runtime.weights.TensorView;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The products' inputs as {@link GemmInputs} says, against sums worked out by hand: inputs chosen so that bf16
 * rounding (round to nearest, ties to even; 8 significant bits) moves them by known amounts.
 */
class CpuProductsTest {
    // 1 + 2^-10 → 1; 1 + 3·2^-8 (halfway between 1 + 2^-7 and 1 + 2^-6) → 1 + 2^-6 (even); 257 (halfway between
    // 256 and 258) → 256 (even); -(1 + 2^-8) (halfway) → -1 (even)
    private static final float[] X = {1 + 0x1p-10f, 1 + 3 * 0x1p-8f, 257f, -(1 + 0x1p-8f)};
    private static final float[] X_BF16 = {1f, 1 + 0x1p-6f, 256f, -1f};
    // W [3, 4]: the sum of all, the first input, the third minus the second
    private static final float[] W = {1, 1, 1, 1, 1, 0, 0, 0, 0, -1, 1, 0};

    private final Parallel par = new Parallel(2);

    @AfterEach
    void close() {
        par.close();
    }

    private float[] products(GemmInputs inputs, float[] in, int[] rowIdx, int rows) {
        ByteBuffer bytes = ByteBuffer.allocate(W.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float w : W) {
            bytes.putFloat(w);
        }
        bytes.flip();
        float[] out = new float[rows * 3];
        new CpuProducts(par, inputs).linear(new TensorView("w", Dtype.F32, new long[]{3, 4}, bytes), in, rowIdx,
                rows, 4, out, 3);
        return out;
    }

    private static float[] expected(float[] x) {
        return new float[]{((x[0] + x[1]) + (x[2] + x[3])), x[0], x[2] - x[1]};
    }

    @Test
    void splitMultipliesTheFp32Values() {
        assertArrayEquals(expected(X), products(GemmInputs.SPLIT, X, null, 1));
    }

    @Test
    void bf16RoundsEachInputToNearestEven() {
        assertArrayEquals(expected(X_BF16), products(GemmInputs.BF16, X, null, 1));
        assertArrayEquals(new float[]{257 + 0x1p-6f, 1f, 255 - 0x1p-6f}, expected(X_BF16)); // the hand-worked values
    }

    /** Gathered rows (the experts' tokens) are rounded as they are: row r takes input row rowIdx[r]. */
    @Test
    void bf16RoundsTheGatheredRows() {
        float[] in = new float[8];
        System.arraycopy(X, 0, in, 4, 4);
        float[] out = products(GemmInputs.BF16, in, new int[]{1, 0, 1}, 3);
        float[] want = new float[9];
        System.arraycopy(expected(X_BF16), 0, want, 0, 3);
        System.arraycopy(expected(X_BF16), 0, want, 6, 3);
        assertArrayEquals(want, out);
    }
}
