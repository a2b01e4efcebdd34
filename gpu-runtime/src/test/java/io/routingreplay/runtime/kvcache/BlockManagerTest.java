package io.routingreplay.runtime.kvcache;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reference counts, sharing and LRU eviction of the prefix cache's blocks. */
class BlockManagerTest {
    private static final int BS = 4;

    private static List<BlockHash> chainOf(int... tokens) {
        List<BlockHash> out = new ArrayList<>();
        BlockHash parent = BlockHash.ROOT;
        for (int b = 0; b + BS <= tokens.length; b += BS) {
            parent = BlockHash.chain(parent, tokens, b, BS);
            out.add(parent);
        }
        return out;
    }

    /** Allocates a table for {@code positions} and registers its first {@code hashes.size()} blocks. */
    private static List<Integer> computed(BlockManager m, List<BlockHash> hashes, int positions) {
        List<Integer> table = new ArrayList<>();
        List<Integer> hits = m.match(hashes);
        assertTrue(m.canAdmit(hits, positions, 0));
        m.acquire(table, hits);
        m.allocate(table, positions);
        for (int b = 0; b < hashes.size(); b++) {
            m.register(table.get(b), hashes.get(b));
        }
        return table;
    }

    @Test
    void aBlockHeldByASequenceIsNeverEvicted() {
        BlockManager m = new BlockManager(6, BS, true);
        List<BlockHash> p = chainOf(1, 2, 3, 4, 5, 6, 7, 8);
        List<Integer> a = computed(m, p, 10); // 3 blocks, 2 registered
        List<Integer> b = computed(m, p, 9);  // shares a's 2, one of its own
        assertEquals(a.subList(0, 2), b.subList(0, 2));
        assertEquals(2, m.refCount(a.get(0)));
        m.free(a); // b still holds the shared blocks
        assertEquals(1, m.refCount(b.get(0)));
        List<Integer> other = new ArrayList<>();
        assertTrue(m.canAllocate(other, 3 * BS)); // 6 blocks - b's 3 = 3 free (a's private one included)
        assertFalse(m.canAllocate(other, 3 * BS + 1));
        m.allocate(other, 3 * BS);
        for (int blk : other) {
            assertFalse(b.contains(blk), "block " + blk + " is held by b and must not be handed out");
        }
        assertEquals(0, m.numFree());
        m.free(other);
        m.free(b);
        assertEquals(0, m.numUsed(), "reference counts back at zero");
        assertEquals(2, m.numCached(), "the shared prefix stays cached, evictable");
    }

    @Test
    void unreferencedCachedBlocksAreEvictedLeastRecentlyReleasedFirstAndOnlyWhenNoEmptyBlockIsLeft() {
        BlockManager m = new BlockManager(4, BS, true);
        List<BlockHash> p = chainOf(1, 2, 3, 4, 5, 6, 7, 8);
        List<BlockHash> q = chainOf(9, 9, 9, 9);
        m.free(computed(m, p, 2 * BS)); // p's 2 blocks cached, unreferenced
        m.free(computed(m, q, BS));     // q's block cached after p's
        assertEquals(3, m.numCached());
        List<Integer> t = new ArrayList<>();
        m.allocate(t, BS); // the one never-cached block goes first: nothing evicted
        assertEquals(0, m.evictions());
        assertEquals(2, m.match(p).size());
        m.allocate(t, 2 * BS); // now p's last block goes (a table's tail is released first)
        assertEquals(1, m.evictions());
        assertEquals(1, m.match(p).size(), "p keeps its first block");
        assertEquals(1, m.match(q).size(), "q, released later, is still cached");
        m.free(t);
        assertEquals(0, m.numUsed());
    }

    @Test
    void admittingOnCachedBlocksCountsTheRevivedOnesAsTaken() {
        BlockManager m = new BlockManager(3, BS, true);
        List<BlockHash> p = chainOf(1, 2, 3, 4, 5, 6, 7, 8);
        m.free(computed(m, p, 2 * BS));
        List<Integer> hits = m.match(p);
        assertEquals(2, hits.size());
        assertTrue(m.canAdmit(hits, 3 * BS, 0), "2 cached + the 1 empty block");
        assertFalse(m.canAdmit(hits, 3 * BS + 1, 0), "the 2 revived blocks are not free for the rest");
    }

    @Test
    void withPrefixCachingOffNothingMatches() {
        BlockManager m = new BlockManager(4, BS, false);
        List<BlockHash> p = chainOf(1, 2, 3, 4);
        m.free(computed(m, p, BS));
        assertTrue(m.match(p).isEmpty());
        assertEquals(0, m.numCached());
    }
}
