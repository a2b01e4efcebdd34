package io.routingreplay.runtime.backend.cuda;

import java.nio.IntBuffer;

/**
 * One step's swap pairs as {@code kv_swap_out} / {@code kv_swap_in} read them (kernels/kv_swap.cuh): ints
 * {@code [out blocks][out slots][in blocks][in slots]}, so each direction's blocks and slots are two arrays at known
 * byte offsets of the one uploaded table. Checked here, on the host, because a wrong id in a kernel would write
 * someone else's block or host memory without a word.
 */
final class KvSwapTable {
    /** Ints a pair takes in the table: its block and its slot. */
    static final int INTS_PER_PAIR = 2;

    private KvSwapTable() {
    }

    /**
     * Writes the pairs from the start of {@code dst} (which must hold {@link #INTS_PER_PAIR} ints per pair) and
     * returns the ints written.
     *
     * @param numBlocks the device cache's blocks (ids 0 .. numBlocks - 1)
     */
    static int pack(IntBuffer dst, int[] outBlocks, int[] outSlots, int[] inSlots, int[] inBlocks, KvSwapLayout layout,
                    int numBlocks) {
        check(outBlocks, outSlots, "out", layout, numBlocks);
        check(inBlocks, inSlots, "in", layout, numBlocks);
        int ints = INTS_PER_PAIR * (outBlocks.length + inBlocks.length);
        if (dst.capacity() < ints) {
            throw new IllegalArgumentException("swap table of " + dst.capacity() + " ints cannot hold " + ints);
        }
        dst.clear();
        dst.put(outBlocks).put(outSlots).put(inBlocks).put(inSlots);
        return ints;
    }

    /** Byte offset of the out pairs' block ids in the table. */
    static long outBlocksAt() {
        return 0;
    }

    static long outSlotsAt(int outPairs) {
        return 4L * outPairs;
    }

    static long inBlocksAt(int outPairs) {
        return 8L * outPairs;
    }

    static long inSlotsAt(int outPairs, int inPairs) {
        return 8L * outPairs + 4L * inPairs;
    }

    /** Pairs the table buffers hold after a step of {@code need} pairs: unchanged if they fit, else at least double
     *  (a run's swaps grow in a few steps, not one per preemption). */
    static int grownCapacity(int capacity, int need) {
        return need <= capacity ? capacity : Math.max(need, 2 * capacity);
    }

    private static void check(int[] blocks, int[] slots, String direction, KvSwapLayout layout, int numBlocks) {
        if (blocks.length != slots.length) {
            throw new IllegalArgumentException("swap " + direction + ": " + blocks.length + " blocks but "
                    + slots.length + " slots");
        }
        for (int i = 0; i < blocks.length; i++) {
            if (blocks[i] < 0 || blocks[i] >= numBlocks) {
                throw new IllegalArgumentException("swap " + direction + ": K/V block " + blocks[i] + " outside 0.."
                        + (numBlocks - 1));
            }
            layout.checkSlot(slots[i]);
        }
    }
}
