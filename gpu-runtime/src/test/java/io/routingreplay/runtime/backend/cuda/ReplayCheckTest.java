package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The GPU check {@link CudaChecks#replay} run on the CPU backend (the reference implementation of routing replay
 * and scoring), so the check's own expectations are shown, without a GPU, to hold where the capability works. It
 * was shown to fail where it does not: with CpuMoe's reproduced count lowered by one at one token it reports
 * "forced-routing report positions=13 mismatches=[1, …]".
 */
class ReplayCheckTest {
    private static EngineConfig.Builder cpu(String fixture) {
        return EngineConfig.builder(Fixtures.model(fixture)).threads(2).maxNumSeqs(64).maxBatchTokens(512);
    }

    @Test
    void passesOnTheCpuBackend() {
        assertEquals(List.of(), CudaChecks.replay("qwen3-moe-tiny", ReplayCheckTest::cpu));
    }
}
