package io.routingreplay.runtime.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link SmallDenseGemm}'s launch rules at the issue-14 shapes (H100: 132 multiprocessors). Runs without a GPU; the
 * kernels' side of the shapes is {@link GemmShapesTest#smallDenseShapesMatchTheirKernels}.
 */
class SmallDenseGemmTest {
    @Test
    void aGridThatFitsOneBlockPerMultiprocessorTakesTheWholeChainInRegisters() {
        // O (2,048 outputs): 128 blocks at <= 16 rows, 256 at 32; QKV (5,120): 320 / 640
        assertEquals("gemm_residual_small_b16", SmallDenseGemm.choose(true, 128, 132).name());
        assertEquals("gemm_residual_small_b16", SmallDenseGemm.choose(true, 132, 132).name());
        assertEquals("gemm_residual_small_b4", SmallDenseGemm.choose(true, 133, 132).name());
        assertEquals("gemm_residual_small_b4", SmallDenseGemm.choose(true, 256, 132).name());
        assertEquals("gemm_store_small_b4", SmallDenseGemm.choose(false, 320, 132).name());
        assertEquals("gemm_store_small_b16", SmallDenseGemm.choose(false, 64, 132).name());
    }

    @Test
    void theGridKeepsTheKSplitBlockCount() {
        // ceil(rows / 16) x ceil(N / 64) x 4 chain groups = the K-split kernel's ceil(rows / 16) x N / 16 blocks
        assertArrayEquals(new int[] {1, 32, 4}, SmallDenseGemm.grid(10, 2048));
        assertArrayEquals(new int[] {2, 80, 4}, SmallDenseGemm.grid(32, 5120));
        assertArrayEquals(new int[] {1, 2, 4}, SmallDenseGemm.grid(1, 100));
        assertEquals(2 * 80, SmallDenseGemm.arrivals(5120));
    }

    @Test
    void sharedMemoryIsTheStagedActivationsOfTwoChains() {
        // O: K 4,096 = 128 chunks, 16 per chain; 2 chains x 16 x 10 rows x 128 bytes
        assertEquals(2 * 16 * 10 * 128, SmallDenseGemm.sharedBytes(4096, 10));
        assertEquals(2 * 16 * 16 * 128, SmallDenseGemm.sharedBytes(4096, 32)); // one tile of 16 rows at a time
        assertEquals(2 * 8 * 1 * 128, SmallDenseGemm.sharedBytes(2048, 1));
        assertEquals(2 * 2 * 3 * 128, SmallDenseGemm.sharedBytes(264, 3)); // 9 chunks: chain 0 has 2
        assertTrue(SmallDenseGemm.sharedBytes(4096, 16) <= SmallDenseGemm.MAX_SHARED_BYTES);
        assertFalse(SmallDenseGemm.sharedBytes(6144, 16) <= SmallDenseGemm.MAX_SHARED_BYTES);
    }
}
