package io.routingreplay.runtime.kvcache;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The K/V roundings against independent references: a brute-force nearest-value search over all 254 finite fp8
 *  values (ties to the even code), and bf16 by truncating the float's bits with explicit round-half-even. */
class KvCacheDtypeTest {

    /** All finite e4m3fn values from the format's definition, indexed by code 0..126 (positive half). */
    private static double[] finitePositive() {
        double[] v = new double[127];
        for (int c = 0; c < 127; c++) {
            int e = c >> 3, m = c & 7;
            v[c] = e == 0 ? m * Math.pow(2, -9) : (1 + m / 8.0) * Math.pow(2, e - 7);
        }
        return v;
    }

    /** Nearest finite value by search; ties to the even code; beyond 448 saturates. */
    private static int nearestCode(float x) {
        double[] v = finitePositive();
        double a = Math.abs((double) x);
        int best = 0;
        for (int c = 1; c < 127; c++) {
            double d = Math.abs(v[c] - a), db = Math.abs(v[best] - a);
            if (d < db || (d == db && (c & 1) == 0)) {
                best = c;
            }
        }
        return (x < 0 || (x == 0 && 1 / x < 0) ? 0x80 : 0) | best;
    }

    @Test
    void fp8DecodesEveryCodeAsTheFormatDefines() {
        double[] v = finitePositive();
        for (int c = 0; c < 127; c++) {
            assertEquals(v[c], Fp8E4m3.decode((byte) c), 0.0, "code " + c);
            assertEquals(-v[c], Fp8E4m3.decode((byte) (0x80 | c)), 0.0, "code -" + c);
        }
        assertTrue(Float.isNaN(Fp8E4m3.decode((byte) 0x7F)));
        assertTrue(Float.isNaN(Fp8E4m3.decode((byte) 0xFF)));
    }

    @Test
    void fp8EncodeIsNearestEvenWithSaturation() {
        Random r = new Random(7);
        double[] v = finitePositive();
        // every midpoint between neighbours (the ties) and points just either side of it
        for (int c = 0; c < 126; c++) {
            float mid = (float) ((v[c] + v[c + 1]) / 2);
            for (float x : new float[] {mid, Math.nextUp(mid), Math.nextDown(mid), (float) v[c], -mid}) {
                assertEquals(nearestCode(x), Fp8E4m3.encode(x) & 0xFF, "x = " + x);
            }
        }
        for (int i = 0; i < 200_000; i++) {
            float x = (float) (r.nextGaussian() * Math.pow(2, r.nextInt(24) - 12));
            assertEquals(nearestCode(x), Fp8E4m3.encode(x) & 0xFF, "x = " + x);
        }
        assertEquals(0x7E, Fp8E4m3.encode(1e6f));
        assertEquals((byte) 0xFE, Fp8E4m3.encode(Float.NEGATIVE_INFINITY));
        assertEquals(0x7F, Fp8E4m3.encode(Float.NaN) & 0x7F);
    }

    @Test
    void bf16RoundsHalfToEven() {
        Random r = new Random(11);
        for (int i = 0; i < 100_000; i++) {
            float x = (float) r.nextGaussian() * 100;
            int bits = Float.floatToRawIntBits(x);
            int lower = bits & 0xFFFF, upper = bits & 0xFFFF0000;
            int rounded = lower > 0x8000 || (lower == 0x8000 && (upper & 0x10000) != 0) ? upper + 0x10000 : upper;
            assertEquals(Float.intBitsToFloat(rounded), KvCacheDtype.BF16.round(x), 0f, "x = " + x);
        }
    }

    @Test
    void parseNamesTheChoicesOnBadInput() {
        assertEquals(KvCacheDtype.FP8, KvCacheDtype.parse("FP8"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvCacheDtype.parse("int4"));
        assertTrue(e.getMessage().contains("fp32, bf16, fp8"), e.getMessage());
    }
}
