package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.kvcache.KvCacheDtype;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where the tensor-core attention runs, which entries it names and the shared memory it asks for (no GPU needed). */
class TensorCoreAttentionTest {

    /** Every entry ForwardPass may launch for a bf16 / fp8 cache is in the PTX. */
    @Test
    void theEntriesItNamesAreCompiled() throws IOException {
        String ptx = KernelSources.ptx();
        for (KvCacheDtype kv : List.of(KvCacheDtype.BF16, KvCacheDtype.FP8)) {
            for (int d : new int[] {16, 32, 64, 128}) {
                for (int g = 1; g <= 16; g++) {
                    TensorCoreAttention a = TensorCoreAttention.of(kv, d, g);
                    assertNotNull(a, kv + " d" + d + " G" + g);
                    assertTrue(ptx.contains(".entry " + a.decode() + "("), a.decode());
                    assertTrue(ptx.contains(".entry " + a.prefill() + "("), a.prefill());
                    assertEquals(16 / g, a.tokensPerTile(), "tokens per 16-row tile at G " + g);
                }
            }
        }
    }

    /** The fp32 cache keeps the FMA kernels (its bits are the CPU-agreement rule's); shapes without an entry too. */
    @Test
    void neverRunsForAnFp32CacheOrShapesItDoesNotTake() {
        assertNull(TensorCoreAttention.of(KvCacheDtype.FP32, 128, 8));
        assertNull(TensorCoreAttention.of(KvCacheDtype.BF16, 12, 2));   // olmoe-tiny's head_dim
        assertNull(TensorCoreAttention.of(KvCacheDtype.BF16, 96, 8));
        assertNull(TensorCoreAttention.of(KvCacheDtype.FP8, 256, 8));
        assertNull(TensorCoreAttention.of(KvCacheDtype.BF16, 128, 17)); // more rows than an mma tile
    }

    /** The opt-in limit set on each entry covers what its launch asks for, and fits a Hopper multiprocessor. */
    @Test
    void everyLaunchFitsTheSharedMemoryLimitSetOnItsEntry() {
        for (int d : new int[] {16, 32, 64, 128}) {
            for (int eb : new int[] {1, 2}) {
                for (int tiles : new int[] {1, TensorCoreAttention.PREFILL_TILES}) {
                    int bytes = TensorCoreAttention.sharedBytes(d, eb, tiles);
                    assertTrue(bytes <= TensorCoreAttention.MAX_SHARED_BYTES, d + "/" + eb + "/" + tiles + ": " + bytes);
                }
            }
        }
        assertTrue(TensorCoreAttention.MAX_SHARED_BYTES <= 227 * 1024, "" + TensorCoreAttention.MAX_SHARED_BYTES);
    }

    /** Decode steps (every row sampled) take one token per block; prompt chunks the multi-tile prefill entry. */
    @Test
    void decodeStepsRunTheDecodeEntryAndPromptsThePrefillOne() {
        assertFalse(TensorCoreAttention.prefillStep(256, 256));
        assertFalse(TensorCoreAttention.prefillStep(1, 1));
        assertTrue(TensorCoreAttention.prefillStep(2048, 1));
        assertTrue(TensorCoreAttention.prefillStep(512, 0));
    }
}
