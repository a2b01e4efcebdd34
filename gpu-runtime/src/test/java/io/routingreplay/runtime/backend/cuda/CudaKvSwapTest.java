package io.routingreplay.runtime.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** How the GPU swap space groups a step's block copies into runs (no GPU needed; the copies are CudaChecks'). */
class CudaKvSwapTest {

    @Test
    void consecutiveBlocksToConsecutiveSlotsOfOneChunkAreOneCopy() {
        List<int[]> runs = CudaKvSwap.runs(new int[]{7, 8, 9, 3, 4, 12}, new int[]{0, 1, 2, 3, 5, 6}, 4);
        // 7..9 -> 0..2 together; 3 -> 3 alone (4 -> 5 skips a slot); 4 -> 5 and 12 -> 6 not consecutive blocks
        assertEquals(4, runs.size());
        assertArrayEquals(new int[]{7, 0, 3}, runs.get(0));
        assertArrayEquals(new int[]{3, 3, 1}, runs.get(1));
        assertArrayEquals(new int[]{4, 5, 1}, runs.get(2));
        assertArrayEquals(new int[]{12, 6, 1}, runs.get(3));
    }

    @Test
    void aRunStopsAtTheEndOfAChunk() {
        List<int[]> runs = CudaKvSwap.runs(new int[]{0, 1, 2, 3, 4}, new int[]{2, 3, 4, 5, 6}, 4);
        assertEquals(2, runs.size(), "slots 2, 3 are chunk 0; 4, 5, 6 chunk 1");
        assertArrayEquals(new int[]{0, 2, 2}, runs.get(0));
        assertArrayEquals(new int[]{2, 4, 3}, runs.get(1));
        assertEquals(0, CudaKvSwap.runs(new int[0], new int[0], 4).size());
    }
}
