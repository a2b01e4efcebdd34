package io.routingreplay.runtime.backend.cuda;

import java.util.List;

/**
 * A chain-major dense GEMM for few rows of {@code kernels/gemm_small.cuh} (v44): {@code gemm_store} /
 * {@code gemm_residual}'s products, bit for bit (the same 8 K-split chains per output, added in warp order), with a
 * block of 8 warps covering {@link #ROW_GROUPS} groups of 16 weight rows and 8 / {@link #ROW_GROUPS} of the chains
 * (a quarter of the activations per block, staged once in shared memory), each warp keeping {@code chunks} of its
 * weight chunks in flight in registers; the last block of a row block to arrive adds the chains' partials.
 *
 * @param name     kernel entry point
 * @param residual Y += W · X (the O product) rather than Y = W · X (QKV)
 * @param chunks   weight chunks in flight per warp (NB): 16 at one block per multiprocessor, 4 at three
 */
record SmallDenseGemm(String name, boolean residual, int chunks) {
    /** GEMM_WARPS, GEMM_TILE (gemm.cuh), RG of the module's variants and GSMALL_MAX_ROWS (gemm_small.cuh). */
    static final int WARPS = 8, TILE = 16, ROW_GROUPS = 4, MAX_ROWS = 32;
    /** The largest staged activation block the host launches (set on the functions before their first use); a
     *  product needing more (a long K: a dense MLP's down product) stays on the K-split kernel. At 64 KB (K up to
     *  4,096 at 16 rows) three blocks still fit a multiprocessor's 227 KB. */
    static final int MAX_SHARED_BYTES = 64 * 1024;

    static final List<SmallDenseGemm> ALL = List.of(
            new SmallDenseGemm("gemm_store_small_b16", false, 16), new SmallDenseGemm("gemm_store_small_b4", false, 4),
            new SmallDenseGemm("gemm_residual_small_b16", true, 16),
            new SmallDenseGemm("gemm_residual_small_b4", true, 4));

    /** gemmSmallSmem: the block's C = 8 / RG chains × chunks per chain × rows of the first tile × 128 bytes. */
    static int sharedBytes(int k, int rows) {
        int chunksPerChain = ceil(ceil(k, 32), WARPS);
        return WARPS / ROW_GROUPS * chunksPerChain * Math.min(rows, TILE) * 32 * 4;
    }

    /** The grid: (row tiles of 16, blocks of 16 × ROW_GROUPS outputs, ROW_GROUPS chain groups). */
    static int[] grid(int rows, int n) {
        return new int[] {ceil(rows, TILE), ceil(n, TILE * ROW_GROUPS), ROW_GROUPS};
    }

    /** Arrival counters a launch over {@code n} outputs uses (one per row tile and row block). */
    static int arrivals(int n) {
        return ceil(MAX_ROWS, TILE) * ceil(n, TILE * ROW_GROUPS);
    }

    /**
     * The variant for a grid of {@code blocks} blocks on {@code multiprocessors}: the 16-chunk ring (178 registers,
     * one block per multiprocessor: a whole O chain of K 4,096 in flight) when the grid fits one wave of it, else
     * the 4-chunk one (77 registers: three blocks per multiprocessor, QKV's 320 blocks in one wave). Any choice
     * gives the same bits.
     */
    static SmallDenseGemm choose(boolean residual, int blocks, int multiprocessors) {
        int chunks = blocks <= multiprocessors ? 16 : 4;
        return ALL.stream().filter(g -> g.residual == residual && g.chunks == chunks).findFirst().orElseThrow();
    }

    static boolean isSmallDense(String kernel) {
        return ALL.stream().anyMatch(g -> g.name.equals(kernel));
    }

    private static int ceil(int a, int b) {
        return (a + b - 1) / b;
    }
}
