package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.engine.GemmInputs;
import io.routingreplay.runtime.kvcache.KvCacheDtype;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `run check`'s numerics options: either, both or none; only fp32 K/V with split inputs is held to transformers. */
class NumericsTest {
    @Test
    void parsesEitherOptionInAnyOrder() {
        assertEquals(new Numerics(KvCacheDtype.BF16, GemmInputs.SPLIT),
                CudaChecks.parseNumerics(new String[]{"--kv-cache-dtype", "bf16"}));
        assertEquals(new Numerics(KvCacheDtype.FP32, GemmInputs.BF16),
                CudaChecks.parseNumerics(new String[]{"--gemm-inputs", "bf16"}));
        assertEquals(new Numerics(KvCacheDtype.FP8, GemmInputs.BF16),
                CudaChecks.parseNumerics(new String[]{"--gemm-inputs", "bf16", "--kv-cache-dtype", "fp8"}));
        assertTrue(CudaChecks.parseNumerics(new String[]{"--gemm-inputs", "split"}).exact());
        assertFalse(CudaChecks.parseNumerics(new String[]{"--gemm-inputs", "bf16"}).exact());
    }

    @Test
    void refusesWhatItDoesNotKnow() {
        assertThrows(IllegalArgumentException.class, () -> CudaChecks.parseNumerics(new String[]{"--gemm-inputs"}));
        assertThrows(IllegalArgumentException.class, () -> CudaChecks.parseNumerics(new String[]{"--bogus", "1"}));
        assertThrows(IllegalArgumentException.class, () -> CudaChecks.parseNumerics(new String[]{"--gemm-inputs", "tf32"}));
    }
}
