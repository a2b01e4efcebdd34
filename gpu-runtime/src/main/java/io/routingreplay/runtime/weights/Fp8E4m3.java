package io.routingreplay.runtime.weights;

/**
 * float8 e4m3fn (OCP FP8, torch.float8_e4m3fn): 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities, one NaN
 * pattern per sign (0x7F / 0xFF), largest finite 448, subnormals m × 2^-9. Encoding rounds to nearest, ties to
 * even, and saturates finite values beyond ±448 to ±448: what the GPU's {@code cvt.rn.satfinite.e4m3x2.f32} does,
 * so the CPU and CUDA backends cache the same bytes. The one e4m3 codec of the engine: the fp8 K/V cache and the
 * fp8 checkpoint loader ({@link BlockFp8Weight}) both use it.
 */
public final class Fp8E4m3 {
    public static final float MAX = 448f;

    /** Every code's value, from the format's definition (a table: the loader decodes billions of codes). */
    private static final float[] VALUES = new float[256];

    static {
        for (int v = 0; v < 256; v++) {
            int code = v & 0x7F;
            float mag;
            if (code == 0x7F) {
                mag = Float.NaN;
            } else {
                int e = code >> 3, m = code & 7;
                mag = e == 0 ? Math.scalb((float) m, -9) : Math.scalb((float) (8 + m), e - 10);
            }
            VALUES[v] = (v & 0x80) != 0 ? -mag : mag;
        }
    }

    private Fp8E4m3() {
    }

    public static byte encode(float x) {
        int sign = Float.floatToRawIntBits(x) < 0 ? 0x80 : 0;
        if (Float.isNaN(x)) {
            return (byte) (sign | 0x7F);
        }
        float a = Math.abs(x);
        int code;
        if (a >= MAX) {
            code = 0x7E;
        } else if (a < 0x1p-6f) {
            // subnormal range (and zero): multiples of 2^-9; code 8 (= 2^-6) is the first normal, so the carry is right
            code = (int) Math.rint(a * 512f);
        } else {
            int e = Math.getExponent(a);              // a in [2^e, 2^(e+1)), -6 <= e <= 8
            int q = (int) Math.rint(Math.scalb(a, 3 - e)); // 8 .. 16 (16 carries into the next exponent)
            code = (e + 6) * 8 + q;                   // a < 448 keeps this <= 0x7E (448 itself)
        }
        return (byte) (sign | code);
    }

    public static float decode(byte b) {
        return VALUES[b & 0xFF];
    }
}
