package io.routingreplay.runtime.backend.cuda;

import java.util.List;
import java.util.function.ToIntFunction;

/**
 * A dense K-split GEMM for few rows of {@code kernels/gemm_stream.cuh}: {@code gemm_store} / {@code gemm_residual}'s
 * products, bit for bit, with each warp's weight and activation fragments streamed through a cp.async ring of
 * {@code stages} chunks (decode at batch ≤ 32 was latency-bound: too few loads in flight per multiprocessor).
 *
 * @param name     kernel entry point
 * @param residual Y += W · X (the O product) rather than Y = W · X (QKV)
 * @param stages   chunks in flight per warp (the ring's depth)
 */
record StreamGemm(String name, boolean residual, int stages) {
    /** GEMM_WARPS in gemm.cuh; GSTREAM_PIECES (2 weight + 2 × 2 split-row pieces of 16 bytes per lane and chunk). */
    static final int WARPS = 8, PIECES = 6;
    /** The deepest ring's dynamic shared memory (set on the function before its first use). */
    static final int MAX_SHARED_BYTES = WARPS * 8 * PIECES * 32 * 16;

    static final List<StreamGemm> ALL = List.of(
            new StreamGemm("gemm_store_s8", false, 8), new StreamGemm("gemm_store_s4", false, 4),
            new StreamGemm("gemm_store_s2", false, 2), new StreamGemm("gemm_residual_s8", true, 8),
            new StreamGemm("gemm_residual_s4", true, 4), new StreamGemm("gemm_residual_s2", true, 2));

    /** The ring: per warp {@code stages} × PIECES × 32 lanes × 16 bytes (the reduction's tiles are static). */
    int sharedBytes() {
        return WARPS * stages * PIECES * 32 * 16;
    }

    /**
     * The variant for a grid of {@code blocks} blocks: the deepest ring whose blocks all stay resident at once
     * ({@code residentPerSm} blocks per multiprocessor, from registers and shared memory) — a second wave would
     * leave most multiprocessors idle at its end —, else the shallowest. Any choice gives the same bits.
     */
    static StreamGemm choose(boolean residual, int blocks, int multiprocessors,
                             ToIntFunction<StreamGemm> residentPerSm) {
        StreamGemm shallowest = null;
        for (StreamGemm g : ALL) {  // deepest first
            if (g.residual != residual) {
                continue;
            }
            if (blocks <= (long) multiprocessors * residentPerSm.applyAsInt(g)) {
                return g;
            }
            shallowest = g;
        }
        return shallowest;
    }

    static boolean isStream(String kernel) {
        return ALL.stream().anyMatch(g -> g.name.equals(kernel));
    }
}
