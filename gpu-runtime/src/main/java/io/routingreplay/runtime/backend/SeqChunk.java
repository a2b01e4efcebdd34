package io.routingreplay.runtime.backend;

import io.routingreplay.runtime.sampler.SamplingParams;

/**
 * One sequence's share of a forward step: {@code tokens} fed at positions {@code startPos..startPos+n-1}, whose
 * K/V go into the paged cache through {@code blockTable} (physical block ids, one per {@code kvBlockSize}
 * positions, covering at least {@code startPos + n} positions). When {@code sample} is set the last position's
 * logits are sampled with {@code params}, {@code seed} and {@code sampleIndex} (the output index being drawn).
 *
 * @param forcedIds   routing replay: expert ids for the chunk's first {@code forcedIds.length / (moe layers × k)}
 *                    positions, {@code [position][moe_layer][k]}; those positions use exactly these experts, weighed
 *                    by the live router. Null: every position is routed freely.
 * @param scoreTokens scoring: per chunk position, the token whose log-probability the position's logits are asked
 *                    for ({@code -1}: none). Null: none.
 * @param keepLogits  prompt-end logits ({@link ModelRunner#supportsPromptEndLogits()}): also return the raw logits
 *                    row the chunk samples from ({@link StepOutput#keptLogits()}), for the prefix cache to keep with
 *                    the block this position completes
 * @param sampleFrom  prompt-end logits: the chunk feeds no tokens and samples (with {@code params}, {@code seed},
 *                    {@code sampleIndex}, its logprob from the same row) from this raw logits row, kept from an
 *                    earlier request whose prompt ended at the same cached block. Null: the chunk computes its
 *                    logits
 */
public record SeqChunk(int[] tokens, int startPos, int[] blockTable, boolean sample, SamplingParams params,
                       long seed, int sampleIndex, int[] forcedIds, int[] scoreTokens, boolean keepLogits,
                       float[] sampleFrom) {

    /** A chunk that computes its logits and keeps none. */
    public SeqChunk(int[] tokens, int startPos, int[] blockTable, boolean sample, SamplingParams params, long seed,
                    int sampleIndex, int[] forcedIds, int[] scoreTokens) {
        this(tokens, startPos, blockTable, sample, params, seed, sampleIndex, forcedIds, scoreTokens, false, null);
    }

    /** A chunk routed freely, with no scoring. */
    public SeqChunk(int[] tokens, int startPos, int[] blockTable, boolean sample, SamplingParams params, long seed,
                    int sampleIndex) {
        this(tokens, startPos, blockTable, sample, params, seed, sampleIndex, null, null);
    }

    public int length() {
        return tokens.length;
    }

    /** Whether the chunk uses prompt-end logits (keeps its row or samples from a kept one). */
    public boolean usesPromptEndLogits() {
        return keepLogits || sampleFrom != null;
    }

    /** Whether the chunk asks for anything beyond free routing and sampling (which not every backend offers). */
    public boolean hasReplayInputs() {
        return forcedIds != null || scoreTokens != null;
    }
}
