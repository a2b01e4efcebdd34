package io.routingreplay.runtime.kvcache;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * Hands out physical blocks of the paged K/V cache and, with prefix caching on, shares full blocks between
 * sequences whose token prefixes are equal. The backend owns the storage; this class only decides which block ids
 * a sequence uses.
 *
 * <p>Every block has a reference count (the sequences whose block table holds it). A full, computed block is
 * {@linkplain #register registered} under its {@link BlockHash}; when its count falls to zero it stays cached and
 * becomes evictable, least recently released first. Allocation takes never-cached free blocks first and evicts a
 * cached one only when none are left, so a block a running sequence holds is never evicted (its count is > 0).
 * A cached block whose last position ended a prompt may also carry that position's raw logits row
 * ({@link #keepPromptEndLogits}), dropped when the block is evicted.
 * Pairs: {@link #canAllocate} before {@link #allocate}; {@link #match} then {@link #canAdmit} then
 * {@link #acquire}.
 */
public final class BlockManager {
    private final int blockSize;
    private final int numBlocks;
    private final boolean prefixCaching;
    private final int[] refCount;
    private final BlockHash[] hashOf;
    /** Unreferenced blocks with no cached content. */
    private final ArrayDeque<Integer> empty = new ArrayDeque<>();
    /** Unreferenced blocks with cached content, least recently released first. */
    private final LinkedHashSet<Integer> evictable = new LinkedHashSet<>();
    private final Map<BlockHash, Integer> cached = new HashMap<>();
    /** Raw logits rows kept with cached blocks that ended a prompt (evicted with their block). */
    private final PromptEndLogits promptEndLogits;
    private long evictions;

    public BlockManager(int numBlocks, int blockSize) {
        this(numBlocks, blockSize, false);
    }

    public BlockManager(int numBlocks, int blockSize, boolean prefixCaching) {
        this(numBlocks, blockSize, prefixCaching, 0L);
    }

    /**
     * @param promptEndLogitsBytes the most host bytes of prompt-end logits rows kept with cached blocks (0: none)
     */
    public BlockManager(int numBlocks, int blockSize, boolean prefixCaching, long promptEndLogitsBytes) {
        if (numBlocks < 1) {
            throw new IllegalArgumentException("the K/V cache needs at least one block, got " + numBlocks);
        }
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.prefixCaching = prefixCaching;
        this.refCount = new int[numBlocks];
        this.hashOf = new BlockHash[numBlocks];
        this.promptEndLogits = new PromptEndLogits(numBlocks, promptEndLogitsBytes);
        for (int i = 0; i < numBlocks; i++) {
            empty.add(i);
        }
    }

    public int blockSize() {
        return blockSize;
    }

    public int numBlocks() {
        return numBlocks;
    }

    public boolean prefixCaching() {
        return prefixCaching;
    }

    /** Blocks no sequence holds (empty or cached-and-evictable). */
    public int numFree() {
        return empty.size() + evictable.size();
    }

    /** Blocks some sequence holds. */
    public int numUsed() {
        return numBlocks - numFree();
    }

    /** Blocks registered in the prefix cache (held or evictable). */
    public int numCached() {
        return cached.size();
    }

    public long evictions() {
        return evictions;
    }

    public int refCount(int block) {
        return refCount[block];
    }

    /** Blocks needed to hold {@code positions} positions. */
    public int blocksFor(int positions) {
        return (positions + blockSize - 1) / blockSize;
    }

    /** Whether {@code table} can grow to hold {@code positions} positions. */
    public boolean canAllocate(List<Integer> table, int positions) {
        return blocksFor(positions) - table.size() <= numFree();
    }

    /** Grows {@code table} to hold {@code positions} positions; call only after {@link #canAllocate}. */
    public void allocate(List<Integer> table, int positions) {
        int need = blocksFor(positions) - table.size();
        if (need > numFree()) {
            throw new IllegalStateException("K/V cache exhausted: need " + need + " blocks, " + numFree() + " free");
        }
        for (int i = 0; i < need; i++) {
            table.add(take());
        }
    }

    private int take() {
        Integer b = empty.poll();
        if (b == null) {
            Iterator<Integer> lru = evictable.iterator();
            b = lru.next();
            lru.remove();
            cached.remove(hashOf[b]);
            hashOf[b] = null;
            promptEndLogits.drop(b);
            evictions++;
        }
        refCount[b] = 1;
        return b;
    }

    /**
     * The cached blocks holding the leading full blocks of a sequence, given its block hashes in order: stops at the
     * first miss (a block is useless without its prefix). Takes no reference; empty with prefix caching off.
     */
    public List<Integer> match(List<BlockHash> hashes) {
        List<Integer> hits = new ArrayList<>();
        if (!prefixCaching) {
            return hits;
        }
        for (BlockHash h : hashes) {
            Integer b = cached.get(h);
            if (b == null) {
                break;
            }
            hits.add(b);
        }
        return hits;
    }

    /**
     * Whether a sequence of {@code positions} positions fits when {@code hits} (from {@link #match}) are shared and
     * {@code reserved} free blocks are kept for others.
     */
    public boolean canAdmit(List<Integer> hits, int positions, int reserved) {
        int revived = 0;
        for (int b : hits) {
            if (refCount[b] == 0) {
                revived++; // counted as free now, but taken by this sequence
            }
        }
        return blocksFor(positions) - hits.size() <= numFree() - revived - reserved;
    }

    /** Appends the matched blocks to an empty {@code table}, taking a reference on each. */
    public void acquire(List<Integer> table, List<Integer> hits) {
        if (!table.isEmpty()) {
            throw new IllegalStateException("cached blocks start a block table; this one holds " + table.size());
        }
        for (int b : hits) {
            if (refCount[b] == 0) {
                evictable.remove(b);
            }
            refCount[b]++;
            table.add(b);
        }
    }

    /**
     * Registers a full, computed block under {@code hash} so later sequences can share it. When another block
     * already holds that content this one stays private (it is freed plainly); no-op with prefix caching off.
     */
    public void register(int block, BlockHash hash) {
        if (!prefixCaching || hashOf[block] != null || cached.containsKey(hash)) {
            return;
        }
        cached.put(hash, block);
        hashOf[block] = hash;
    }

    /**
     * Keeps the raw logits row of the last position of the cached block registered under {@code hash}, computed by
     * a sequence whose prompt ended there (see {@link PromptEndLogits}); no-op when no block is cached under that
     * hash (prefix caching off, or the block was not registered) or the block already has one.
     */
    public void keepPromptEndLogits(BlockHash hash, float[] row) {
        Integer b = cached.get(hash);
        if (b != null) {
            promptEndLogits.keep(b, row);
        }
    }

    /** The logits row kept with cached {@code block} (its last position's), or null. */
    public float[] promptEndLogits(int block) {
        return hashOf[block] == null ? null : promptEndLogits.get(block);
    }

    /** Host bytes of the logits rows kept with cached blocks. */
    public long promptEndLogitsBytes() {
        return promptEndLogits.bytes();
    }

    /** Cached blocks that carry a prompt-end logits row. */
    public int numPromptEndLogits() {
        return promptEndLogits.count();
    }

    /**
     * Releases a sequence's blocks. Blocks left unreferenced keep their cached content (evictable, the table's
     * last blocks first, since a block is useless without the ones before it); uncached ones become empty.
     */
    public void free(List<Integer> table) {
        for (int i = table.size() - 1; i >= 0; i--) {
            int b = table.get(i);
            if (refCount[b] <= 0) {
                throw new IllegalStateException("K/V block " + b + " released more often than taken");
            }
            if (--refCount[b] == 0) {
                if (hashOf[b] != null) {
                    evictable.add(b);
                } else {
                    empty.add(b);
                }
            }
        }
        table.clear();
    }
}
