package io.routingreplay.runtime.model.attention;

import io.routingreplay.runtime.model.TensorNaming;
import io.routingreplay.runtime.weights.WeightStore;

/** How a layer's self-attention projects queries, keys and values; each backend implements every kind. */
public sealed interface AttentionKind permits GqaAttention, MlaAttention {
    int numHeads();

    /** K/V heads the cache holds per position (MLA caches its decompressed keys and values: one per query head). */
    int numKvHeads();

    /** Width of one cached key head (what a query head is dotted with). */
    int keyHeadDim();

    /** Width of one cached value head (what attention outputs per head). */
    int valueHeadDim();

    /** Floats of one position's keys in a layer's cache. */
    default int keyWidth() {
        return numKvHeads() * keyHeadDim();
    }

    /** Floats of one position's values in a layer's cache. */
    default int valueWidth() {
        return numKvHeads() * valueHeadDim();
    }

    /** Weights of one layer's attention projections (bias and norm vectors left out): what a step reads. */
    long weightElements(int hidden);

    /** Loads and shape-checks layer {@code layer}'s attention tensors. */
    AttentionWeights load(WeightStore store, TensorNaming n, int layer, int hidden);
}
