package io.routingreplay.runtime.kvcache;

import java.util.Iterator;
import java.util.LinkedHashSet;

/**
 * The raw logits row of the last position of a cached full block, kept when that position ended a prompt: a later
 * request whose whole prompt is that block chain samples its first token from the row instead of computing the
 * block's last position again (the logits at a position depend only on the tokens up to it, which the block's
 * chained hash fixes). At most one row per block; a row lives and is evicted with its block ({@link BlockManager}
 * drops it when it reuses the block), and the rows together stay within {@code maxBytes}: keeping one past it drops
 * the least recently used first (a block without its row is still served, all but its last position). Host memory:
 * {@code vocab × 4} bytes per cached prompt end (151,936 × 4 B = 593.5 KiB for Qwen3's vocabulary), counted in
 * {@link #bytes()}.
 */
final class PromptEndLogits {
    private final float[][] rows;
    private final long maxBytes;
    /** Blocks with a row, least recently kept or used first. */
    private final LinkedHashSet<Integer> order = new LinkedHashSet<>();
    private long bytes;

    PromptEndLogits(int numBlocks, long maxBytes) {
        this.rows = new float[numBlocks][];
        this.maxBytes = maxBytes;
    }

    /** The row kept with {@code block}, or null; a row read is a row used (the last to be dropped for room). */
    float[] get(int block) {
        if (rows[block] != null) {
            order.remove(block);
            order.add(block);
        }
        return rows[block];
    }

    /** Keeps {@code row} with {@code block} unless it already has one (the same values: its content is fixed). */
    void keep(int block, float[] row) {
        long rowBytes = (long) row.length * Float.BYTES;
        if (rows[block] != null || rowBytes > maxBytes) {
            return;
        }
        Iterator<Integer> lru = order.iterator();
        while (bytes + rowBytes > maxBytes) {
            int oldest = lru.next();
            lru.remove();
            bytes -= (long) rows[oldest].length * Float.BYTES;
            rows[oldest] = null;
        }
        rows[block] = row;
        order.add(block);
        bytes += rowBytes;
    }

    /** Forgets the row of a block whose cached content is gone. */
    void drop(int block) {
        float[] row = rows[block];
        if (row != null) {
            rows[block] = null;
            order.remove(block);
            bytes -= (long) row.length * Float.BYTES;
        }
    }

    long bytes() {
        return bytes;
    }

    int count() {
        return order.size();
    }
}
