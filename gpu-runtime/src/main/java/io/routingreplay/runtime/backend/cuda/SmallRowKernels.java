package io.routingreplay.runtime.backend.cuda;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Which of the small-batch kernels (issue 14: decode at ≤ 32 rows; each gives the bits of the kernels it replaces)
 * {@link ForwardPass} uses, from {@code -Droutingreplay.cuda.smallRows}: unset — the four fusions ({@link #DEFAULT}:
 * bit-identical in the engine's GPU checks and 1.2–1.5× faster than the kernels they replace in small_bench on an
 * H100; not the chain-major dense GEMMs, slower than the K-split kernels there: docs/cuda-notes.md v44); {@code on}
 * — all five;
 * {@code off} — none (the kernels before them); else a comma-separated list of the parts to use, so a GPU call can
 * time or bisect them one by one.
 *
 * @param dense       QKV and O (the dense products that ran the K-split kernels) on the chain-major GEMMs
 *                    (kernels/gemm_small.cuh)
 * @param combineNorm the MoE combine writing the next layer's attention RMSNorm (moe_combine_rmsnorm)
 * @param routerNorm  the MoE block's RMSNorm inside the router (router_topk_norm)
 * @param routerParts that router's experts over several blocks per token (router_topk_norm_parts; with routerNorm)
 * @param routerGroup the MoE grouping (group_by_expert) inside that router's launch, run by the step's last token
 *                    to finish (router_topk_norm_parts_group; with routerNorm and routerParts)
 */
record SmallRowKernels(boolean dense, boolean combineNorm, boolean routerNorm, boolean routerParts,
                       boolean routerGroup) {
    static final String PROPERTY = "routingreplay.cuda.smallRows";
    /** The part names the property lists. */
    static final List<String> PARTS = List.of("dense", "combine-norm", "router-norm", "router-parts",
            "router-group");
    /** What runs when the property is unset: the fusions (the grouping in the router too: v42, 1.5x faster than
     *  rmsnorm + router_topk + group_by_expert in small_bench on an H100, 2026-12-07), not the chain-major dense
     *  GEMMs (0.6–0.9x the K-split kernels in gemm_bench small on an H100: v44). */
    static final SmallRowKernels DEFAULT = new SmallRowKernels(false, true, true, true, true);

    static SmallRowKernels fromSystemProperty() {
        return parse(System.getProperty(PROPERTY));
    }

    static SmallRowKernels parse(String value) {
        if (value != null && value.trim().equalsIgnoreCase("on")) {
            return new SmallRowKernels(true, true, true, true, true);
        }
        if (value == null || value.isBlank()) {
            return DEFAULT;
        }
        if (value.trim().equalsIgnoreCase("off")) {
            return new SmallRowKernels(false, false, false, false, false);
        }
        List<String> parts = Arrays.stream(value.split(",")).map(s -> s.trim().toLowerCase(Locale.ROOT)).toList();
        for (String p : parts) {
            if (!PARTS.contains(p)) {
                throw new IllegalArgumentException("-D" + PROPERTY + "=" + value + ": unknown part '" + p
                        + "' (on, off, or a comma-separated list of " + String.join(", ", PARTS) + ")");
            }
        }
        return new SmallRowKernels(parts.contains("dense"), parts.contains("combine-norm"),
                parts.contains("router-norm"), parts.contains("router-parts"), parts.contains("router-group"));
    }
}
