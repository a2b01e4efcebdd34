package io.routingreplay.runtime.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link StreamGemm#choose}: the deepest ring whose grid is resident in one wave, else the shallowest. Runs without a
 * GPU, with the residency an H100 gives the kernels (ptxas: 52 / 69 registers, S × 24 KB of ring + 7 KB).
 */
class StreamGemmTest {
    /** Blocks per multiprocessor by stages (both modes; registers allow 3-4, shared memory 1 / 2 / 4). */
    private static final Map<Integer, Integer> H100 = Map.of(8, 1, 4, 2, 2, 3);

    private static String choose(boolean residual, int blocks) {
        return StreamGemm.choose(residual, blocks, 132, g -> H100.get(g.stages())).name();
    }

    @Test
    void deepestRingThatFitsOneWave() {
        // O (2,048 outputs) at <= 16 rows: 128 blocks, one per SM -> the 8-stage ring
        assertEquals("gemm_residual_s8", choose(true, 128));
        assertEquals("gemm_residual_s8", choose(true, 132));
        // O at 32 rows: 256 blocks -> two per SM
        assertEquals("gemm_residual_s4", choose(true, 256));
        // QKV (5,120 outputs) at <= 16 rows: 320 blocks -> three per SM
        assertEquals("gemm_store_s2", choose(false, 320));
        assertEquals("gemm_store_s4", choose(false, 264));
    }

    @Test
    void moreBlocksThanEverFitTakeTheShallowestRing() {
        // QKV at 32 rows: 640 blocks (more than 3 x 132): several waves whatever the ring, so the one with most blocks
        assertEquals("gemm_store_s2", choose(false, 640));
        assertEquals("gemm_residual_s2", choose(true, 100_000));
    }
}
