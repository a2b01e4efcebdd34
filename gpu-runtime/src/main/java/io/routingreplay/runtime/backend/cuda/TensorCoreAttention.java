package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.kvcache.KvCacheDtype;

/**
 * The tensor-core attention of {@code kernels/attention_tc.cuh} for a bf16 or fp8 K/V cache: its entry points, grid
 * and dynamic shared memory. It writes the partial records {@code attention_combine} merges, like the fp32-FMA
 * kernels, but not their bits (so the fp32 cache, whose CPU-agreement rule those bits serve, never runs it); what it
 * guarantees is batch invariance: a row's bits depend only on its query, its position and the cache, never on the
 * launch — which is why the decode and the prefill entries may be chosen by the step's shape.
 *
 * @param decode  one row tile (one token's query heads of a K/V head) per 128-thread block: grid (kv heads, T, splits)
 * @param prefill {@value #PREFILL_TILES} row tiles of {@code tokensPerTile} consecutive tokens of one sequence per
 *                block, sharing each staged K/V partition
 */
record TensorCoreAttention(String decode, String prefill, int headDim, int elementBytes, int tokensPerTile) {
    /** Row tiles per prefill block (the {@code _x4} entries; {@code _x2} also exists, bench/cuda/attention_tc_bench.cu
     *  times both). */
    static final int PREFILL_TILES = 4;
    /** mma rows of a tile, warps per tile (kernels/attention_tc.cuh TCATT_ROWS, TCATT_SLICES). */
    private static final int ROWS = 16, SLICES = 4, CHUNK = 128;
    /** Tokens from which a step that samples at most half its rows runs the prefill entry. */
    private static final int PREFILL_FROM_TOKENS = 16;
    /** The largest dynamic shared memory an entry asks for (D 128, bf16, 4 tiles; set on each before its first use). */
    static final int MAX_SHARED_BYTES = sharedBytes(128, 2, 4);

    /** The kernels for this shape, or null where they do not apply (fp32 K/V, head_dim other than 16 / 32 / 64 / 128,
     *  more than 16 query heads per K/V head): the FMA kernels run there. */
    static TensorCoreAttention of(KvCacheDtype kv, int headDim, int queryHeadsPerKvHead) {
        if (kv == KvCacheDtype.FP32 || (headDim != 16 && headDim != 32 && headDim != 64 && headDim != 128) || queryHeadsPerKvHead > ROWS) {
            return null;
        }
        String base = "attention_tc_d" + headDim + "_" + kv.flag();
        return new TensorCoreAttention(base, base + "_x" + PREFILL_TILES, headDim,
                kv == KvCacheDtype.BF16 ? 2 : 1, ROWS / queryHeadsPerKvHead);
    }

    static boolean isTensorCoreAttention(String kernel) {
        return kernel.startsWith("attention_tc_");
    }

    /** attention_tc.cuh tcAttSharedBytes: K and V stages (or the slice sums after the walk), then the q tiles. */
    static int sharedBytes(int headDim, int elementBytes, int tiles) {
        int kv = 2 * CHUNK * (headDim * elementBytes + 16);
        int sums = tiles * ROWS * (headDim + 2) * 4;
        int qOffset = (Math.max(kv, sums) + 15) / 16 * 16;
        return qOffset + tiles * 2 * ROWS * (headDim + 8) * 2;
    }

    /** Whether a step of {@code tokens} rows, {@code sampled} of them sampled, runs the prefill entry (mostly prompt
     *  tokens: runs of one sequence fill the tiles). Either entry gives the same bits. */
    static boolean prefillStep(int tokens, int sampled) {
        return tokens >= PREFILL_FROM_TOKENS && tokens > 2 * sampled;
    }

    /** Enqueues the attention of a step's {@code tokens} rows into the partial records (then attention_combine). */
    void launch(CudaDevice dev, int tokens, int sampled, int kvHeads, int splits, Object... args) {
        boolean pre = prefillStep(tokens, sampled);
        int tiles = pre ? PREFILL_TILES : 1, perTile = pre ? tokensPerTile : 1;
        Object[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = tokens;
        all[args.length + 1] = perTile;
        dev.launchShared(pre ? prefill : decode, kvHeads, (tokens + tiles * perTile - 1) / (tiles * perTile), splits,
                tiles * SLICES * 32, sharedBytes(headDim, elementBytes, tiles), all);
    }
}
