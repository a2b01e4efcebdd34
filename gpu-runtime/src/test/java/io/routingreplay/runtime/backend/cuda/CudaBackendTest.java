package io.routingreplay.runtime.backend.cuda;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The GPU checks of {@link CudaChecks} under JUnit; skipped on machines without a CUDA GPU (CI). */
class CudaBackendTest {

    /** Every fixture the CUDA backend accepts (as `run check` iterates them). */
    static List<String> accepted() {
        return CudaChecks.acceptedFixtures();
    }

    @BeforeAll
    static void needsGpu() {
        assumeTrue(CudaAvailability.reason() == null, () -> "no CUDA: " + CudaAvailability.reason());
    }

    @ParameterizedTest
    @MethodSource("accepted")
    void reproducesTransformers(String fixture) {
        assertEquals(List.of(), CudaChecks.conformance(fixture));
    }

    @ParameterizedTest
    @MethodSource("accepted")
    void sameResultsAloneBatchedAndChunked(String fixture) {
        assertEquals(List.of(), CudaChecks.invariance(fixture));
    }

    @ParameterizedTest
    @MethodSource("accepted")
    void recordsServedFromThePrefixCacheEqualColdOnes(String fixture) {
        assertEquals(List.of(), CudaChecks.prefixCache(fixture));
    }

    @ParameterizedTest
    @MethodSource("accepted")
    void preemptedRecordsComeBackFromTheSwapSpaceBitIdentical(String fixture) {
        assertEquals(List.of(), CudaChecks.swapSpace(fixture));
    }

    @ParameterizedTest
    @MethodSource("accepted")
    void laterSamplesOfABlockAlignedPromptAreServedWholeFromTheKeptLogitsRow(String fixture) {
        assertEquals(List.of(), CudaChecks.promptEndLogits(fixture));
    }

    @ParameterizedTest
    @MethodSource("accepted")
    void agreesWithCpuOnRandomRequests(String fixture) {
        assertEquals(List.of(), CudaChecks.agreement(fixture, 100, fixture.length()));
    }

    @ParameterizedTest
    @MethodSource("accepted")
    void replaysItsOwnRoutingAndScoresItsOwnSamples(String fixture) {
        assertEquals(List.of(), CudaChecks.replay(fixture));
    }
}
