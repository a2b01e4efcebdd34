package io.routingreplay.runtime.backend.cuda;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The GPU checks of {@link CudaChecks} under JUnit; skipped on machines without a CUDA GPU (CI). */
class CudaBackendTest {

    @BeforeAll
    static void needsGpu() {
        assumeTrue(CudaAvailability.reason() == null, () -> "no CUDA: " + CudaAvailability.reason());
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3-moe-tiny", "mixtral-tiny"})
    void reproducesTransformers(String fixture) {
        assertEquals(List.of(), CudaChecks.conformance(fixture));
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3-moe-tiny", "mixtral-tiny"})
    void sameResultsAloneBatchedAndChunked(String fixture) {
        assertEquals(List.of(), CudaChecks.invariance(fixture));
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3-moe-tiny", "mixtral-tiny"})
    void recordsServedFromThePrefixCacheEqualColdOnes(String fixture) {
        assertEquals(List.of(), CudaChecks.prefixCache(fixture));
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3-moe-tiny", "mixtral-tiny"})
    void agreesWithCpuOnRandomRequests(String fixture) {
        assertEquals(List.of(), CudaChecks.agreement(fixture, 100, fixture.length()));
    }
}
