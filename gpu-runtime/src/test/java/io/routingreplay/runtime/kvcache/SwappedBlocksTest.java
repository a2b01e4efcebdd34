package io.routingreplay.runtime.kvcache;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The swap slots' bookkeeping: whole copies, oldest dropped first for room, a partial copy when even that is short. */
class SwappedBlocksTest {
    private static final int BS = 16;

    @Test
    void aCopyTakesTheLowestFreeSlotsAndComesBackWhole() {
        SwappedBlocks s = new SwappedBlocks(8, BS);
        Object a = new Object(), b = new Object();
        assertArrayEquals(new int[]{0, 1, 2}, s.store(a, 40).slots());   // 40 positions: 3 blocks
        assertArrayEquals(new int[]{3, 4}, s.store(b, 32).slots());
        assertEquals(5, s.numUsed());
        SwappedBlocks.Copy ca = s.take(a);
        assertEquals(40, ca.positions());
        assertNull(s.take(a), "taken once");
        assertEquals(2, s.numUsed());
        assertArrayEquals(new int[]{0, 1, 2, 5}, s.store(new Object(), 64).slots());
        assertEquals(0, s.droppedBlocks());
    }

    @Test
    void whenFullTheOldestCopiesAreDroppedFirst() {
        SwappedBlocks s = new SwappedBlocks(6, BS);
        Object oldest = new Object(), middle = new Object(), newest = new Object();
        s.store(oldest, 32);
        s.store(middle, 32);
        s.store(newest, 48);    // needs 3 of 2 free: drops the oldest's 2
        assertNull(s.take(oldest), "dropped");
        assertEquals(2, s.droppedBlocks());
        assertEquals(32, s.take(middle).positions());
        assertEquals(48, s.take(newest).positions());
        assertEquals(0, s.numUsed());
    }

    @Test
    void aCopyLargerThanTheSpaceKeepsTheLeadingBlocksThatFit() {
        SwappedBlocks s = new SwappedBlocks(2, BS);
        Object other = new Object(), big = new Object();
        s.store(other, 10);
        SwappedBlocks.Copy c = s.store(big, 100);  // 7 blocks wanted: drops the other's, keeps 2
        assertArrayEquals(new int[]{0, 1}, c.slots());
        assertEquals(2 * BS, c.positions(), "only the positions of the kept blocks are restored");
        assertNull(s.take(other));
        assertNull(s.store(new Object(), 0), "nothing computed, nothing copied");
    }

    @Test
    void releasingAFinishedSequenceFreesItsSlots() {
        SwappedBlocks s = new SwappedBlocks(4, BS);
        Object a = new Object();
        s.store(a, 64);
        s.release(a);
        assertEquals(0, s.numUsed());
        assertEquals(0, s.droppedBlocks(), "a release is not a drop");
        assertThrows(IllegalArgumentException.class, () -> new SwappedBlocks(0, BS));
    }
}
