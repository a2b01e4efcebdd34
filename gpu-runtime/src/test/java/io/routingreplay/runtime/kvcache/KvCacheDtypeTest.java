package io.routingreplay.runtime.kvcache;

import io.routingreplay.runtime.weights.Fp8E4m3;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The K/V roundings against independent references: fp8 through the codec {@code weights.Fp8E4m3Test} checks,
 *  bf16 by truncating the float's bits with explicit round-half-even. */
class KvCacheDtypeTest {

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
    void fp8RoundsThroughTheE4m3Codec() {
        Random r = new Random(5);
        for (int i = 0; i < 10_000; i++) {
            float x = (float) (r.nextGaussian() * 50);
            assertEquals(Fp8E4m3.decode(Fp8E4m3.encode(x)), KvCacheDtype.FP8.round(x), 0f, "x = " + x);
        }
        assertEquals(448f, KvCacheDtype.FP8.round(1e6f));
    }

    @Test
    void parseNamesTheChoicesOnBadInput() {
        assertEquals(KvCacheDtype.FP8, KvCacheDtype.parse("FP8"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvCacheDtype.parse("int4"));
        assertTrue(e.getMessage().contains("fp32, bf16, fp8"), e.getMessage());
    }
}
