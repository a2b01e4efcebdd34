package io.routingreplay.runtime.backend.cuda;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Which of the small-batch kernels (issue 14: decode at ≤ 32 rows; each gives the bits of the kernels it replaces)
 * {@link ForwardPass} uses, from {@code -Droutingreplay.cuda.smallRows}: unset or {@code on} — all four fusions
 * ({@link #DEFAULT}: bit-identical in the engine's GPU checks and 1.2–1.5× faster than the kernels they replace in
 * small_bench on an H100); {@code off} — none (the kernels before them); else a comma-separated list of the parts to
 * use, so a GPU call can time or bisect them one by one. The dense products stay on the K-split kernels: the two
 * replacements tried (v38's streamed and v44's chain-major GEMMs, docs/cuda-notes.md) gave their bits but were
 * slower on an H100 and were removed, so naming their parts ({@code stream}, {@code dense}) is an error.
 *
 * @param combineNorm the MoE combine writing the next layer's attention RMSNorm (moe_combine_rmsnorm)
 * @param routerNorm  the MoE block's RMSNorm inside the router (router_topk_norm)
 * @param routerParts that router's experts over several blocks per token (router_topk_norm_parts; with routerNorm)
 * @param routerGroup the MoE grouping (group_by_expert) inside that router's launch, run by the step's last token
 *                    to finish (router_topk_norm_parts_group; with routerNorm and routerParts)
 */
record SmallRowKernels(boolean combineNorm, boolean routerNorm, boolean routerParts, boolean routerGroup) {
    static final String PROPERTY = "routingreplay.cuda.smallRows";
    /** The part names the property lists. */
    static final List<String> PARTS = List.of("combine-norm", "router-norm", "router-parts", "router-group");
    /** What runs when the property is unset: every fusion (the grouping in the router too: v42, 1.5x faster than
     *  rmsnorm + router_topk + group_by_expert in small_bench on an H100, 2026-12-07). */
    static final SmallRowKernels DEFAULT = new SmallRowKernels(true, true, true, true);

    static SmallRowKernels fromSystemProperty() {
        return parse(System.getProperty(PROPERTY));
    }

    static SmallRowKernels parse(String value) {
        if (value == null || value.isBlank() || value.trim().equalsIgnoreCase("on")) {
            return DEFAULT;
        }
        if (value.trim().equalsIgnoreCase("off")) {
            return new SmallRowKernels(false, false, false, false);
        }
        List<String> parts = Arrays.stream(value.split(",")).map(s -> s.trim().toLowerCase(Locale.ROOT)).toList();
        for (String p : parts) {
            if (!PARTS.contains(p)) {
                throw new IllegalArgumentException("-D" + PROPERTY + "=" + value + ": unknown part '" + p
                        + "' (on, off, or a comma-separated list of " + String.join(", ", PARTS) + ")");
            }
        }
        return new SmallRowKernels(parts.contains("combine-norm"), parts.contains("router-norm"),
                parts.contains("router-parts"), parts.contains("router-group"));
    }
}
