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

    @ParameterizedTest
    @ValueSource(strings = {"deepseek-v2-tiny", "deepseek-v2-greedy-tiny"})
    void refusesMla(String fixture) {
        String msg = assertThrows(IllegalArgumentException.class, () -> CudaModelRunner.checkSupported(
                ModelConfigLoader.load(Fixtures.model(fixture)))).getMessage();
        assertTrue(msg.contains(": its attention is MLA"), msg);
    }

    @ParameterizedTest
    @ValueSource(strings = {"glm4-moe-tiny", "qwen2-moe-tiny"})
    void refusesGqaWithBias(String fixture) {
        String msg = assertThrows(IllegalArgumentException.class, () -> CudaModelRunner.checkSupported(
                ModelConfigLoader.load(Fixtures.model(fixture)))).getMessage();
        assertTrue(msg.contains("qkv-bias") && msg.contains("without q/k/v bias"), msg);
    }

    @Test
    void refusesDeepSeekV3WithTheReasonAndTheWayOut() {
        String msg = assertThrows(IllegalArgumentException.class, () -> CudaModelRunner.checkSupported(
                ModelConfigLoader.load(Fixtures.model("deepseek-v3-tiny")))).getMessage();
        assertTrue(msg.startsWith("the CUDA backend cannot run deepseek_v3"), msg);
        assertTrue(msg.contains(": its attention is MLA") && msg.contains("GQA only (use --backend cpu)"), msg);
    }
}
