package io.routingreplay.runtime.parallel;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.attention.AttentionKind;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.attention.MlaAttention;

/**
 * What one rank of a {@link ParallelLayout} holds of a model: contiguous groups of query and K/V heads, a slice of
 * each dense and shared MLP's intermediate width, its expert group (whole expert ids) and its slice of those
 * experts' intermediate width, and a range of vocabulary rows (embedding and lm_head). Expert ids stay the
 * checkpoint's (logical) ids on every rank: routing is computed from identical bits everywhere and recorded as is.
 */
public final class RankShard {
    private final ParallelLayout layout;
    private final ModelConfig c;
    private final int rank;

    RankShard(ParallelLayout layout, ModelConfig c, int rank) {
        this.layout = layout;
        this.c = c;
        this.rank = rank;
    }

    /** The whole model on one rank (the unsharded backend). */
    public static RankShard whole(ModelConfig c) {
        return new RankShard(ParallelLayout.SINGLE, c, 0);
    }

    public ParallelLayout layout() {
        return layout;
    }

    public int rank() {
        return rank;
    }

    public int ranks() {
        return layout.ranks();
    }

    /** The query heads this rank attends with. */
    public Slice heads() {
        return Slice.part(c.attention.numHeads(), rank, ranks());
    }

    /** The K/V heads this rank caches: its share, or the one head its query heads read when heads are replicated. */
    public Slice kvHeads() {
        int kv = c.attention.numKvHeads();
        if (kv >= ranks()) {
            return Slice.part(kv, rank, ranks());
        }
        int h = rank / (ranks() / kv);
        return new Slice(h, h + 1);
    }

    /** The rank that holds query head {@code h}. */
    public int headSourceRank(int h) {
        return h / (c.attention.numHeads() / ranks());
    }

    /** The first rank that holds K/V head {@code h} (where a gather of whole K rows takes it from). */
    public int kvHeadSourceRank(int h) {
        int kv = c.attention.numKvHeads();
        return kv >= ranks() ? h / (kv / ranks()) : h * (ranks() / kv);
    }

    /** The attention this rank computes: the model's, with its own query and K/V head counts. */
    public AttentionKind attention() {
        if (ranks() == 1) {
            return c.attention;
        }
        if (c.attention instanceof GqaAttention g) {
            return new GqaAttention(heads().size(), kvHeads().size(), g.headDim(), g.qkNorm(), g.qkvBias(),
                    g.rotaryDim());
        }
        if (c.attention instanceof MlaAttention m) {
            return new MlaAttention(heads().size(), m.qLoraRank(), m.kvLoraRank(), m.qkNopeHeadDim(),
                    m.qkRopeHeadDim(), m.vHeadDim(), m.ropeInterleave());
        }
        throw new IllegalArgumentException("no sharding for attention " + c.attention);
    }

    /** Routed experts this rank computes (logical ids). */
    public Slice experts() {
        return Slice.part(c.numExperts, rank / layout.expertTensorParallel(), layout.expertParallel());
    }

    /** This rank's columns of each of its experts' intermediate width. */
    public Slice expertColumns() {
        return Slice.part(c.moeIntermediateSize, rank % layout.expertTensorParallel(), layout.expertTensorParallel());
    }

    /** This rank's columns of the dense MLPs' intermediate width. */
    public Slice denseColumns() {
        return Slice.part(c.denseIntermediateSize, rank, ranks());
    }

    /** This rank's columns of the shared experts' intermediate width. */
    public Slice sharedColumns() {
        return Slice.part(c.sharedExpertIntermediateSize, rank, ranks());
    }

    /** The vocabulary rows (embedding and lm_head) this rank holds. */
    public Slice vocab() {
        return vocabOf(rank);
    }

    public Slice vocabOf(int r) {
        return Slice.part(c.vocabSize, r, ranks());
    }

    /** The rank whose vocabulary rows hold token {@code id}. */
    public int vocabOwner(int id) {
        for (int r = 0; r < ranks(); r++) {
            if (vocabOf(r).contains(id)) {
                return r;
            }
        }
        throw new IllegalArgumentException("token id " + id + " outside the vocabulary of " + c.vocabSize);
    }

    @Override
    public String toString() {
        return layout + " rank " + rank;
    }
}
