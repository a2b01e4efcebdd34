package io.routingreplay.runtime.kvcache;

import java.util.ArrayDeque;
import java.util.List;

/**
 * Hands out physical blocks of the paged K/V cache. The backend owns the storage; this class only decides which
 * block ids a sequence uses. Pairs: {@link #canAllocate(int)} before {@link #allocate(List, int)}.
 */
public final class BlockManager {
    private final int blockSize;
    private final int numBlocks;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();

    public BlockManager(int numBlocks, int blockSize) {
        if (numBlocks < 1) {
            throw new IllegalArgumentException("the K/V cache needs at least one block, got " + numBlocks);
        }
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        for (int i = 0; i < numBlocks; i++) {
            free.add(i);
        }
    }

    public int blockSize() {
        return blockSize;
    }

    public int numBlocks() {
        return numBlocks;
    }

    public int numFree() {
        return free.size();
    }

    public int numUsed() {
        return numBlocks - free.size();
    }

    /** Blocks needed to hold {@code positions} positions. */
    public int blocksFor(int positions) {
        return (positions + blockSize - 1) / blockSize;
    }

    /** Whether {@code table} can grow to hold {@code positions} positions. */
    public boolean canAllocate(List<Integer> table, int positions) {
        return blocksFor(positions) - table.size() <= free.size();
    }

    /** Grows {@code table} to hold {@code positions} positions; call only after {@link #canAllocate}. */
    public void allocate(List<Integer> table, int positions) {
        int need = blocksFor(positions) - table.size();
        if (need > free.size()) {
            throw new IllegalStateException("K/V cache exhausted: need " + need + " blocks, " + free.size() + " free");
        }
        for (int i = 0; i < need; i++) {
            table.add(free.poll());
        }
    }

    public void free(List<Integer> table) {
        free.addAll(table);
        table.clear();
    }
}
