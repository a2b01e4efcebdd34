package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU check {@link CudaChecks#promptEndLogits} run on the CPU backend (the reference implementation of prompt-end
 * logits), so the check itself is shown, without a GPU, to pass where the capability works and to fail where no row
 * is kept.
 */
class PromptEndLogitsCheckTest {
    private static EngineConfig.Builder cpu(String fixture) {
        return EngineConfig.builder(Fixtures.model(fixture)).threads(2);
    }

    @Test
    void passesOnTheCpuBackend() {
        assertEquals(List.of(), CudaChecks.promptEndLogits("qwen3-moe-tiny", PromptEndLogitsCheckTest::cpu));
    }

    @Test
    void failsWhenTheLaterSamplesAreNotServedFromAKeptRow() {
        // no room for rows: the later samples compute the prompt's last block, as a backend without the capability
        List<String> fails = CudaChecks.promptEndLogits("qwen3-moe-tiny", f -> cpu(f).promptEndLogitsBytes(0));
        assertTrue(fails.stream().anyMatch(f -> f.contains("prompt positions served from the cache, expected")),
                fails::toString);
        assertTrue(fails.stream().anyMatch(f -> f.contains("positions fed through the model")), fails::toString);
    }
}
