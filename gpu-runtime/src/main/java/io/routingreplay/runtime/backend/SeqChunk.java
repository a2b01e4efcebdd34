package io.routingreplay.runtime.backend;

import io.routingreplay.runtime.sampler.SamplingParams;

/**
 * One sequence's share of a forward step: {@code tokens} fed at positions {@code startPos..startPos+n-1}, whose
 * K/V go into the paged cache through {@code blockTable} (physical block ids, one per {@code kvBlockSize}
 * positions, covering at least {@code startPos + n} positions). When {@code sample} is set the last position's
 * logits are sampled with {@code params}, {@code seed} and {@code sampleIndex} (the output index being drawn).
 */
public record SeqChunk(int[] tokens, int startPos, int[] blockTable, boolean sample, SamplingParams params,
                       long seed, int sampleIndex) {

    public int length() {
        return tokens.length;
    }
}
