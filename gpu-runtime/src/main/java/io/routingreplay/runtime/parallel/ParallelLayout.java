package io.routingreplay.runtime.parallel;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.attention.AttentionKind;
import io.routingreplay.runtime.model.attention.GqaAttention;

/**
 * How one engine's model is split over its ranks (GPUs of one node; in-process ranks on the CPU backend).
 * {@code tensorParallel} is the number of ranks: attention heads, dense MLPs, shared experts and the vocabulary
 * (embedding and lm_head rows) are split over all of them. The routed experts are split into
 * {@code expertParallel} groups of whole experts by expert id (expert parallelism); the
 * {@code tensorParallel / expertParallel} ranks of a group split each of its experts' intermediate width
 * (tensor parallelism inside the experts). So TP=2 EP=1 is all tensor-parallel, TP=2 EP=2 gives each rank half the
 * experts whole, TP=4 EP=2 is two expert groups of two ranks each.
 *
 * <p>Every sum over ranks is an all-gather followed by a sum in rank order ({@link Collectives#sumInRankOrder}),
 * so a layout's bits do not depend on the batch; they may differ from another layout's (another summation order).
 */
public record ParallelLayout(int tensorParallel, int expertParallel) {
    public static final ParallelLayout SINGLE = new ParallelLayout(1, 1);

    public ParallelLayout {
        if (tensorParallel < 1) {
            throw new IllegalArgumentException("tensor-parallel must be >= 1, got " + tensorParallel);
        }
        if (expertParallel < 1) {
            throw new IllegalArgumentException("expert-parallel must be >= 1, got " + expertParallel);
        }
        if (tensorParallel % expertParallel != 0) {
            throw new IllegalArgumentException("expert-parallel (" + expertParallel + ") must divide tensor-parallel ("
                    + tensorParallel + "): the experts are spread over the engine's " + tensorParallel
                    + " ranks in " + expertParallel + " groups");
        }
    }

    public int ranks() {
        return tensorParallel;
    }

    /** Ranks that split each expert of a group (tensor parallelism inside the experts). */
    public int expertTensorParallel() {
        return tensorParallel / expertParallel;
    }

    /**
     * Refuses a model this layout cannot split, naming the numbers: query heads must divide evenly, K/V heads must
     * divide evenly or be replicated (the rank count a multiple of them), experts must divide into the EP groups,
     * and every split width (intermediate sizes, vocabulary) must give each rank at least one column.
     */
    public void check(ModelConfig c) {
        int n = tensorParallel;
        AttentionKind a = c.attention;
        require(a.numHeads() % n == 0, "num_attention_heads (" + a.numHeads() + ") is not divisible by tensor-parallel ("
                + n + ")");
        if (a instanceof GqaAttention g) {              // MLA's K/V heads are its query heads (decompressed cache)
            int kv = g.numKvHeads();
            require(kv % n == 0 || n % kv == 0, "num_key_value_heads (" + kv + ") neither divides into tensor-parallel ("
                    + n + ") ranks nor is a divisor of it (to replicate each K/V head on tensor-parallel / "
                    + "num_key_value_heads ranks)");
        }
        require(c.numExperts % expertParallel == 0, "num_experts (" + c.numExperts + ") is not divisible by "
                + "expert-parallel (" + expertParallel + ")");
        require(c.moeIntermediateSize >= expertTensorParallel(), "moe_intermediate_size (" + c.moeIntermediateSize
                + ") is smaller than the " + expertTensorParallel() + " ranks that split each expert");
        require(c.numMoeLayers() == c.numLayers || c.denseIntermediateSize >= n, "intermediate_size ("
                + c.denseIntermediateSize + ") is smaller than tensor-parallel (" + n + ")");
        require(c.sharedExpertIntermediateSize == 0 || c.sharedExpertIntermediateSize >= n, "the shared experts' "
                + "width (" + c.sharedExpertIntermediateSize + ") is smaller than tensor-parallel (" + n + ")");
        require(c.vocabSize >= n, "vocab_size (" + c.vocabSize + ") is smaller than tensor-parallel (" + n + ")");
    }

    private void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("cannot split the model over tensor-parallel " + tensorParallel
                    + " x expert-parallel " + expertParallel + ": " + message);
        }
    }

    /** Rank {@code rank}'s part of model {@code c} (call {@link #check} first). */
    public RankShard shard(ModelConfig c, int rank) {
        if (rank < 0 || rank >= tensorParallel) {
            throw new IllegalArgumentException("rank " + rank + " outside 0.." + (tensorParallel - 1));
        }
        return new RankShard(this, c, rank);
    }

    @Override
    public String toString() {
        return "TP=" + tensorParallel + " EP=" + expertParallel;
    }
}
