package io.routingreplay.runtime.backend.cuda;

/**
 * Where a swap slot lives in the CUDA swap space's host memory (kernels/kv_swap.cuh computes the same): chunks of
 * {@link #slotsPerChunk} slots, pinned as slots are first used; within a chunk slot-major, a slot being one block of
 * every region ({@code numRegions × blockBytes} contiguous bytes, region {@code r}'s block at {@code r × blockBytes}),
 * so one pair's copy is one contiguous host range and a slot's address needs only its chunk's base.
 *
 * @param numRegions    the cache's regions (every layer's keys and values)
 * @param blockBytes    bytes of one block in each region (the same in all: GQA and MLA caches alike)
 * @param slots         slots the space holds
 * @param slotsPerChunk slots of one pinned chunk
 */
record KvSwapLayout(int numRegions, long blockBytes, int slots, int slotsPerChunk) {

    /** Bytes a kernel copies per load and store: a block must be whole 16-byte words (uint4). */
    static final int WORD_BYTES = 16;

    KvSwapLayout {
        if (blockBytes <= 0 || blockBytes % WORD_BYTES != 0) {
            throw new IllegalArgumentException("K/V swap: a block of " + blockBytes + " bytes per region is not a "
                    + "whole number of " + WORD_BYTES + "-byte words (the swap kernels copy uint4 words)");
        }
        if (numRegions <= 0 || slots <= 0 || slotsPerChunk <= 0) {
            throw new IllegalArgumentException("K/V swap: " + numRegions + " regions, " + slots + " slots, "
                    + slotsPerChunk + " slots per chunk");
        }
    }

    /** As many slots per chunk as {@code chunkBytes} holds (at least one, at most all of them). */
    static KvSwapLayout of(int numRegions, long blockBytes, int slots, long chunkBytes) {
        long perSlot = numRegions * blockBytes;
        return new KvSwapLayout(numRegions, blockBytes, slots, (int) Math.max(1, Math.min(slots, chunkBytes / perSlot)));
    }

    long slotBytes() {
        return numRegions * blockBytes;
    }

    /** Bytes pinned per chunk (every chunk full size: the last one's spare tail is unused). */
    long chunkBytes() {
        return slotsPerChunk * slotBytes();
    }

    int numChunks() {
        return (slots + slotsPerChunk - 1) / slotsPerChunk;
    }

    int chunkOf(int slot) {
        checkSlot(slot);
        return slot / slotsPerChunk;
    }

    /** Byte offset of {@code slot}'s block of region {@code region} from its chunk's base. */
    long offsetInChunk(int slot, int region) {
        checkSlot(slot);
        if (region < 0 || region >= numRegions) {
            throw new IllegalArgumentException("K/V swap region " + region + " outside 0.." + (numRegions - 1));
        }
        return ((long) (slot % slotsPerChunk) * numRegions + region) * blockBytes;
    }

    void checkSlot(int slot) {
        if (slot < 0 || slot >= slots) {
            throw new IllegalArgumentException("swap slot " + slot + " outside 0.." + (slots - 1));
        }
    }
}
