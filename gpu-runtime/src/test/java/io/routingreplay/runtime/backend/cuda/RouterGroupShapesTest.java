package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The host's expert limit for the router over several blocks per token against the fused grouping's shared arrays
 * in kernels/router_norm.cuh (router_topk_norm_parts_group): an expert id past ROUTER_PARTS_MAXE would count into
 * shared memory beyond its array, which no CPU test would notice. Runs without a GPU.
 */
class RouterGroupShapesTest {
    private static String source(String file) throws IOException {
        return Files.readString(Fixtures.root().getParent().resolve(Path.of("gpu-runtime/src/main/cuda", file)));
    }

    private static int define(String file, String name) throws IOException {
        Matcher m = Pattern.compile("^#define " + name + " (\\d+)\\b", Pattern.MULTILINE).matcher(source(file));
        assertTrue(m.find(), name + " is not defined in " + file);
        return Integer.parseInt(m.group(1));
    }

    @Test
    void theFusedGroupingHoldsEveryExpertTheHostSendsIt() throws IOException {
        assertEquals(ForwardPass.ROUTER_PARTS_MAX_EXPERTS, define("kernels/router_norm.cuh", "ROUTER_PARTS_MAXE"),
                "router_topk_norm_parts_group's grouping arrays (ROUTER_PARTS_MAXE) against the host's limit");
        // and the fused grouping runs on the router's 256 threads, which group_by_expert's body takes as blockDim
        assertEquals(256, define("kernels/router_norm.cuh", "RTN_NORM_THREADS"));
    }
}
