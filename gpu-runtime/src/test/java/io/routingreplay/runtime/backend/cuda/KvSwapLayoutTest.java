package io.routingreplay.runtime.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where the GPU swap space keeps a slot's blocks on the host (no GPU needed; the copies are CudaChecks'). */
class KvSwapLayoutTest {

    @Test
    void slotsFillChunksInOrderAndTheLastChunkMayBePartial() {
        KvSwapLayout l = KvSwapLayout.of(4, 32, 10, 3 * 4 * 32 + 100); // 3 slots of 128 B fit, not 4
        assertEquals(3, l.slotsPerChunk());
        assertEquals(4, l.numChunks(), "10 slots in chunks of 3: 3 + 3 + 3 + 1");
        assertEquals(3 * 4 * 32, l.chunkBytes());
        assertEquals(0, l.chunkOf(2));
        assertEquals(1, l.chunkOf(3));
        assertEquals(3, l.chunkOf(9));
    }

    @Test
    void aSlotIsEveryRegionsBlockContiguousSlotMajor() {
        KvSwapLayout l = KvSwapLayout.of(96, 16384, 1000, CudaKvSwap.CHUNK_BYTES); // Qwen3-30B-A3B, bf16 K/V
        assertEquals(170, l.slotsPerChunk(), "256 MiB / 1.5 MiB");
        assertEquals(0, l.offsetInChunk(0, 0));
        assertEquals(16384, l.offsetInChunk(0, 1), "region 1 right after region 0 within the slot");
        assertEquals(95L * 16384, l.offsetInChunk(0, 95));
        assertEquals(96L * 16384, l.offsetInChunk(1, 0), "the next slot after the last region");
        assertEquals(0, l.offsetInChunk(170, 0), "slot 170 starts chunk 1");
        assertEquals((171L - 170) * 96 * 16384 + 5L * 16384, l.offsetInChunk(171, 5));
        // every (slot, region) block of a chunk inside the chunk, none overlapping
        long end = 0;
        for (int s = 170; s < 340; s++) {
            for (int r = 0; r < 96; r++) {
                assertEquals(end, l.offsetInChunk(s, r));
                end += 16384;
            }
        }
        assertEquals(l.chunkBytes(), end);
    }

    @Test
    void aChunkHoldsAtLeastOneSlotAndNoMoreThanTheSpace() {
        assertEquals(1, KvSwapLayout.of(96, 16384, 10, 1024).slotsPerChunk(), "a chunk smaller than a slot");
        KvSwapLayout all = KvSwapLayout.of(2, 16, 5, 1L << 30);
        assertEquals(5, all.slotsPerChunk());
        assertEquals(1, all.numChunks());
    }

    @Test
    void refusesSlotsOutsideTheSpaceAndBlocksThatAreNotWholeWords() {
        KvSwapLayout l = KvSwapLayout.of(4, 32, 10, 1024);
        assertThrows(IllegalArgumentException.class, () -> l.chunkOf(10));
        assertThrows(IllegalArgumentException.class, () -> l.chunkOf(-1));
        assertThrows(IllegalArgumentException.class, () -> l.offsetInChunk(0, 4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KvSwapLayout.of(4, 24, 10, 1024));
        assertTrue(e.getMessage().contains("16-byte words"), e.getMessage());
    }
}
