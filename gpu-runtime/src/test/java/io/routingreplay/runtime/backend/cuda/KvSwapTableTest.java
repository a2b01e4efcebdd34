package io.routingreplay.runtime.backend.cuda;

import org.junit.jupiter.api.Test;

import java.nio.IntBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How a step's swap pairs are packed for the two kernels (no GPU needed; the copies are CudaChecks'). */
class KvSwapTableTest {
    private static final KvSwapLayout LAYOUT = KvSwapLayout.of(4, 32, 10, 3 * 4 * 32);

    @Test
    void outPairsThenInPairsEachBlocksThenSlotsAtTheOffsetsTheKernelsAreGiven() {
        IntBuffer dst = IntBuffer.allocate(16);
        int ints = KvSwapTable.pack(dst, new int[]{7, 3, 12}, new int[]{0, 5, 9}, new int[]{4, 1}, new int[]{20, 6},
                LAYOUT, 32);
        assertEquals(10, ints);
        int[] got = new int[ints];
        dst.get(0, got);
        assertArrayEquals(new int[]{7, 3, 12, 0, 5, 9, 20, 6, 4, 1}, got);
        // the byte offsets CudaKvSwap passes the kernels point at those arrays
        assertEquals(7, got[(int) KvSwapTable.outBlocksAt() / 4]);
        assertEquals(0, got[(int) KvSwapTable.outSlotsAt(3) / 4]);
        assertEquals(20, got[(int) KvSwapTable.inBlocksAt(3) / 4]);
        assertEquals(4, got[(int) KvSwapTable.inSlotsAt(3, 2) / 4]);
    }

    @Test
    void oneDirectionAloneStartsAtZero() {
        IntBuffer dst = IntBuffer.allocate(4);
        KvSwapTable.pack(dst, new int[0], new int[0], new int[]{8, 9}, new int[]{1, 2}, LAYOUT, 32);
        assertArrayEquals(new int[]{1, 2, 8, 9}, dst.array());
        assertEquals(0, KvSwapTable.inBlocksAt(0));
        assertEquals(8, KvSwapTable.inSlotsAt(0, 2));
    }

    @Test
    void refusesIdsOutsideTheCacheOrTheSpaceAndTablesTooSmall() {
        IntBuffer dst = IntBuffer.allocate(8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                KvSwapTable.pack(dst, new int[]{32}, new int[]{0}, new int[0], new int[0], LAYOUT, 32));
        assertTrue(e.getMessage().contains("K/V block 32"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () ->
                KvSwapTable.pack(dst, new int[0], new int[0], new int[]{10}, new int[]{0}, LAYOUT, 32));
        assertThrows(IllegalArgumentException.class, () ->
                KvSwapTable.pack(dst, new int[]{1, 2}, new int[]{0}, new int[0], new int[0], LAYOUT, 32));
        assertThrows(IllegalArgumentException.class, () -> KvSwapTable.pack(IntBuffer.allocate(3), new int[]{1, 2},
                new int[]{0, 1}, new int[0], new int[0], LAYOUT, 32));
    }

    @Test
    void theBuffersGrowOnlyWhenAStepNeedsMoreAndThenAtLeastDouble() {
        assertEquals(0, KvSwapTable.grownCapacity(0, 0));
        assertEquals(5, KvSwapTable.grownCapacity(0, 5));
        assertEquals(64, KvSwapTable.grownCapacity(64, 64), "a step that fits keeps the buffers");
        assertEquals(128, KvSwapTable.grownCapacity(64, 65));
        assertEquals(300, KvSwapTable.grownCapacity(64, 300));
    }
}
