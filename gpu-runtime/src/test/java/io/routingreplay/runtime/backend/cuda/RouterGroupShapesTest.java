package io.routingreplay.runtime.backend.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The host's expert limit for the router over several blocks per token against the fused grouping's shared arrays
 * in kernels/router_norm.cuh (router_topk_norm_parts_group): an expert id past ROUTER_PARTS_MAXE would count into
 * shared memory beyond its array, which no CPU test would notice. Runs without a GPU.
 */
class RouterGroupShapesTest {
    @Test
    void theFusedGroupingHoldsEveryExpertTheHostSendsIt() throws IOException {
        assertEquals(ForwardPass.ROUTER_PARTS_MAX_EXPERTS,
                KernelSources.define("kernels/router_norm.cuh", "ROUTER_PARTS_MAXE"),
                "router_topk_norm_parts_group's grouping arrays (ROUTER_PARTS_MAXE) against the host's limit");
        // and the fused grouping runs on the router's 256 threads, which group_by_expert's body takes as blockDim
        assertEquals(256, KernelSources.define("kernels/router_norm.cuh", "RTN_NORM_THREADS"));
    }
}
