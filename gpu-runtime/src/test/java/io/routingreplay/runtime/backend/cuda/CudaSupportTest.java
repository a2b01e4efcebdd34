package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the CUDA backend accepts, decided from the config alone (no GPU needed). */
class CudaSupportTest {

    @ParameterizedTest
    @ValueSource(strings = {"qwen3-moe-tiny", "mixtral-tiny", "qwen3-moe-mixed-tiny"})
    void acceptsTheGqaSoftmaxFixtures(String fixture) {
        assertDoesNotThrow(() -> CudaModelRunner.checkSupported(ModelConfigLoader.load(Fixtures.model(fixture))));
    }

    @Test
    void refusesDeepSeekV3WithTheReasonAndTheWayOut() {
        String msg = assertThrows(IllegalArgumentException.class, () -> CudaModelRunner.checkSupported(
                ModelConfigLoader.load(Fixtures.model("deepseek-v3-tiny")))).getMessage();
        assertTrue(msg.startsWith("the CUDA backend cannot run deepseek_v3"), msg);
        assertTrue(msg.contains(": its attention is MLA") && msg.contains("GQA only (use --backend cpu)"), msg);
    }
}
