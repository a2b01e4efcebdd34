package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.routing.RoutingRecord;

import java.util.List;

/**
 * How the GPU checks compare one routing row (token, MoE layer) of the CUDA backend with the CPU backend's, rank by
 * rank. Both compute in float32 but sum in other orders, so two experts whose weights are within {@link #MARGIN} may
 * come out either way; everything else must agree.
 */
final class RowAgreement {
    private static final double MARGIN = CudaChecks.MARGIN;

    private RowAgreement() {
    }

    /**
     * Compares row (t, l); adds each real difference to {@code diffs}, prefixed with {@code where}.
     *
     * @return {ranks compared, ranks skipped as near-ties}
     */
    static int[] compare(RoutingRecord gpu, RoutingRecord cpu, int t, int l, String where, List<String> diffs) {
        int K = cpu.layout().topK(), compared = 0, skipped = 0;
        for (int k = 0; k < K; k++) {
            float w = cpu.weight(t, l, k);
            // a rank within MARGIN of a recorded neighbour may legitimately swap with it
            boolean tight = (k > 0 && Math.abs(cpu.weight(t, l, k - 1) - w) < MARGIN)
                    || (k + 1 < K && Math.abs(w - cpu.weight(t, l, k + 1)) < MARGIN);
            if (tight) {
                skipped++;
                continue;
            }
            int gpuId = gpu.id(t, l, k), cpuId = cpu.id(t, l, k);
            float gpuW = gpu.weight(t, l, k);
            // Two different experts of (within MARGIN) equal weight at one rank: a tie across the selection boundary
            // (the last rank's lower neighbour is the best expert not selected, whose weight no record keeps) or,
            // with a group-limited router, across a group boundary, where the two then took other groups and their
            // lower ranks come from those (deepseek-v2-tiny on the H100, 2026-12-07: experts 17 and 23 at rank 3,
            // 0.12823227 and 0.12822741). This rank and the ones below it are skipped, not compared.
            if (gpuId != cpuId && Math.abs(gpuW - w) < MARGIN) {
                skipped += K - k;
                break;
            }
            compared++;
            if (gpuId != cpuId) {
                diffs.add(where + " k " + k + ": expert " + gpuId + " vs CPU " + cpuId + " (weights GPU " + gpuW
                        + ", CPU " + w + (k + 1 < K ? "; next rank GPU " + gpu.weight(t, l, k + 1) + ", CPU "
                        + cpu.weight(t, l, k + 1) : "; last rank") + ")");
            }
        }
        return new int[] {compared, skipped};
    }
}
