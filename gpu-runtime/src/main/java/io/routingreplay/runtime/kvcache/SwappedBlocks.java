package io.routingreplay.runtime.kvcache;

import java.util.BitSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which host swap slots hold which preempted sequence's K/V blocks (the bookkeeping of a backend's
 * {@link io.routingreplay.runtime.backend.KvSwapSpace}; this class copies nothing). A sequence's copy is its
 * leading blocks, one slot each, and the positions they hold; it is taken whole when the sequence comes back.
 *
 * <p>When the slots run out, the copies of the sequences preempted longest ago are dropped first, whole: the
 * scheduler puts a preempted sequence at the head of the waiting queue, so the newest copy is the first one needed
 * and the oldest the last. A sequence whose copy was dropped (or that found too few slots even then: it keeps the
 * leading blocks that fit) computes the rest again, as without a swap space; no request is ever lost to it. Free
 * slots are handed out lowest first, so the slots in use stay packed at the low end (the GPU pins its host memory in
 * chunks as slots are first used).
 */
public final class SwappedBlocks {
    /** A sequence's copy: {@code slots[i]} holds its block i; the first {@code positions} positions are valid. */
    public record Copy(int[] slots, int positions) {
    }

    private final int numSlots;
    private final int blockSize;
    private final BitSet free = new BitSet();
    /** Copies by owner (a sequence, which compares by identity), oldest first. */
    private final Map<Object, Copy> copies = new LinkedHashMap<>();
    private long droppedBlocks;

    public SwappedBlocks(int numSlots, int blockSize) {
        if (numSlots < 1) {
            throw new IllegalArgumentException("a swap space needs at least one slot, got " + numSlots);
        }
        this.numSlots = numSlots;
        this.blockSize = blockSize;
        free.set(0, numSlots);
    }

    /**
     * Takes slots for the first {@code positions} positions of {@code owner} (their blocks), dropping the oldest
     * other copies when too few are free; null when not even one slot is left (it is then computed again).
     */
    public Copy store(Object owner, int positions) {
        release(owner);
        int want = (positions + blockSize - 1) / blockSize;
        Iterator<Map.Entry<Object, Copy>> oldest = copies.entrySet().iterator();
        while (free.cardinality() < want && oldest.hasNext()) {
            Map.Entry<Object, Copy> e = oldest.next();
            droppedBlocks += e.getValue().slots().length;
            freeSlots(e.getValue());
            oldest.remove();
        }
        int n = Math.min(want, free.cardinality());
        if (n == 0) {
            return null;
        }
        int[] slots = new int[n];
        int s = -1;
        for (int i = 0; i < n; i++) {
            s = free.nextSetBit(s + 1);
            slots[i] = s;
            free.clear(s);
        }
        Copy c = new Copy(slots, Math.min(positions, n * blockSize));
        copies.put(owner, c);
        return c;
    }

    /** Removes and returns {@code owner}'s copy (its slots are free again), or null when it has none. */
    public Copy take(Object owner) {
        Copy c = copies.remove(owner);
        if (c != null) {
            freeSlots(c);
        }
        return c;
    }

    /** Forgets {@code owner}'s copy, if any (the sequence finished or was aborted while waiting). */
    public void release(Object owner) {
        take(owner);
    }

    public int numSlots() {
        return numSlots;
    }

    /** Slots holding a copy now. */
    public int numUsed() {
        return numSlots - free.cardinality();
    }

    /** Blocks whose copy was dropped for room before their sequence came back (they were computed again). */
    public long droppedBlocks() {
        return droppedBlocks;
    }

    private void freeSlots(Copy c) {
        for (int s : c.slots()) {
            free.set(s);
        }
    }
}
