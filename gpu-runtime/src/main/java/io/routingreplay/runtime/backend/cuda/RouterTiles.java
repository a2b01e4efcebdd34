package io.routingreplay.runtime.backend.cuda;

import java.util.Locale;

/**
 * The MoE block's RMSNorm and softmax top-k router over tiles of tokens (kernels/router_tiles.cuh
 * {@code router_topk_norm_tiles{,_group}}, issue 14) for steps above the small-row kernels' 32 rows. rmsnorm +
 * {@code router_topk} read all E × H router weights once per token, one block each, through one multiprocessor's
 * L2 port (15 µs a layer at 128 tokens on an H100, for 34 M multiply-adds); here a block takes {@value #TOKENS}
 * tokens and 1 / {@value #PARTS} of the experts, norms its rows itself, and up to {@value #GROUP_MAX_ROWS} rows the
 * step's last tile groups the pairs by expert in the same launch (no group_by_expert launch). Same bits as rmsnorm +
 * router_topk + group_by_expert (bench/cuda/small_bench.cu).
 * Off by default until an engine A/B on a GPU says it pays: {@code -Droutingreplay.cuda.routerTiles=on}.
 */
final class RouterTiles {
    static final String PROPERTY = "routingreplay.cuda.routerTiles";
    /** Tokens of a block (RTT_TOKENS in kernels/router_tiles.cuh). */
    static final int TOKENS = 4;
    /** Blocks per tile, each with 1 / PARTS of the experts (grid y). */
    static final int PARTS = 4;
    /** The most rows whose pairs the router's last tile groups in its launch (one block of 256 threads);
     *  above, group_by_expert's 1,024 threads do. */
    static final int GROUP_MAX_ROWS = 256;

    private RouterTiles() {
    }

    /** {@value #PROPERTY}: unset, empty or {@code off} — false; {@code on} — true. */
    static boolean enabled(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        if (v.isEmpty() || v.equals("off")) {
            return false;
        }
        if (v.equals("on")) {
            return true;
        }
        throw new IllegalArgumentException("-D" + PROPERTY + "=" + value + ": expected on or off");
    }

    /** Grid x of a step of {@code rows} rows. */
    static int tiles(int rows) {
        return (rows + TOKENS - 1) / TOKENS;
    }

    /** Whether a step of {@code rows} rows groups its pairs inside the router's launch. */
    static boolean groupsInLaunch(int rows) {
        return rows <= GROUP_MAX_ROWS;
    }
}
