package io.routingreplay.runtime.kvcache;

import io.routingreplay.runtime.routing.RoutingLayout;

import java.util.List;

/**
 * The routing of every position of each physical K/V block, kept beside its K and V so that a sequence served a
 * block from the prefix cache gets the routing that block's positions had when they were computed: packed ids and
 * combine weights, both always (the backend computes the weights for every position anyway; keeping them always
 * lets a request that asks for weights share blocks computed for one that did not). Host memory:
 * {@code blockSize × idsPerToken × (id bytes + 4)} per block, allocated when a block is first written: 1,920 bytes
 * per position for Qwen3-30B-A3B (48 MoE layers × top-8), against its ~96 KB of bf16 K/V per position.
 */
public final class BlockRouting {
    private final int blockSize;
    private final int bytesPerToken;
    private final int idsPerToken;
    private final byte[][] ids;
    private final float[][] weights;

    public BlockRouting(int numBlocks, int blockSize, RoutingLayout layout) {
        this.blockSize = blockSize;
        this.bytesPerToken = layout.bytesPerToken();
        this.idsPerToken = layout.idsPerToken();
        this.ids = new byte[numBlocks][];
        this.weights = new float[numBlocks][];
    }

    /**
     * Stores the routing of positions {@code [first, first + count)} of a sequence with block table {@code table};
     * {@code packedIds} and {@code w} hold them in order from their index 0.
     */
    public void write(List<Integer> table, int first, int count, byte[] packedIds, float[] w) {
        for (int i = 0; i < count; i++) {
            int pos = first + i;
            int block = table.get(pos / blockSize);
            int slot = pos % blockSize;
            if (ids[block] == null) {
                ids[block] = new byte[blockSize * bytesPerToken];
                weights[block] = new float[blockSize * idsPerToken];
            }
            System.arraycopy(packedIds, i * bytesPerToken, ids[block], slot * bytesPerToken, bytesPerToken);
            System.arraycopy(w, i * idsPerToken, weights[block], slot * idsPerToken, idsPerToken);
        }
    }

    /** Packed ids of positions {@code [first, first + count)} through {@code table}. */
    public byte[] readIds(List<Integer> table, int first, int count) {
        byte[] out = new byte[count * bytesPerToken];
        for (int i = 0; i < count; i++) {
            int pos = first + i;
            System.arraycopy(ids[table.get(pos / blockSize)], (pos % blockSize) * bytesPerToken, out,
                    i * bytesPerToken, bytesPerToken);
        }
        return out;
    }

    /** Combine weights of positions {@code [first, first + count)} through {@code table}. */
    public float[] readWeights(List<Integer> table, int first, int count) {
        float[] out = new float[count * idsPerToken];
        for (int i = 0; i < count; i++) {
            int pos = first + i;
            System.arraycopy(weights[table.get(pos / blockSize)], (pos % blockSize) * idsPerToken, out,
                    i * idsPerToken, idsPerToken);
        }
        return out;
    }

    /** A copy of the packed ids stored with {@code block} (null when none were written), for a swap to host. */
    public byte[] idsCopy(int block) {
        return ids[block] == null ? null : ids[block].clone();
    }

    /** A copy of the combine weights stored with {@code block} (null when none were written). */
    public float[] weightsCopy(int block) {
        return weights[block] == null ? null : weights[block].clone();
    }

    /** Puts routing copied with {@link #idsCopy} / {@link #weightsCopy} into {@code block} (swapped back in). */
    public void restore(int block, byte[] blockIds, float[] blockWeights) {
        ids[block] = blockIds;
        weights[block] = blockWeights;
    }
}
