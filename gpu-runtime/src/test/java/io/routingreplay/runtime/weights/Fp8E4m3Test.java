package io.routingreplay.runtime.weights;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The e4m3 codec against independent references: every code's value from the format's definition, and a
 *  brute-force nearest-value search over all 254 finite values (ties to the even code) for encoding. */
class Fp8E4m3Test {

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

}
