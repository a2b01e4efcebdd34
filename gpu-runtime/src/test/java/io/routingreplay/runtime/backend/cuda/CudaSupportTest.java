package io.routingreplay.runtime.backend.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;

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

    @Test
    void refusesDeepSeekV3WithTheReasonAndTheWayOut() {
        String msg = assertThrows(IllegalArgumentException.class, () -> CudaModelRunner.checkSupported(
                ModelConfigLoader.load(Fixtures.model("deepseek-v3-tiny")))).getMessage();
        assertTrue(msg.startsWith("the CUDA backend cannot run deepseek_v3"), msg);
        assertTrue(msg.contains(": its attention is MLA") && msg.contains("GQA only (use --backend cpu)"), msg);
    }

    /** q/k/v bias and partial rotary run (qkv_bias_norm_rope_kv): what still stops GLM-4.5 is its router. */
    @Test
    void glmIsRefusedForItsRouterNotItsAttention() {
        String msg = assertThrows(IllegalArgumentException.class, () -> CudaModelRunner.checkSupported(
                ModelConfigLoader.load(Fixtures.model("glm4-moe-tiny")))).getMessage();
        assertTrue(msg.contains(": its router is SigmoidGroupLimited") && msg.endsWith("(use --backend cpu)"), msg);
    }

    /** q/k/v bias runs: what still stops Qwen2-MoE is its gated shared expert. */
    @Test
    void qwen2IsRefusedForItsSharedExpertNotItsBias() {
        String msg = assertThrows(IllegalArgumentException.class, () -> CudaModelRunner.checkSupported(
                ModelConfigLoader.load(Fixtures.model("qwen2-moe-tiny")))).getMessage();
        assertTrue(msg.contains(": its shared expert is scaled by a sigmoid shared_expert_gate"), msg);
    }

    private static ObjectNode fixtureConfig(String fixture) throws IOException {
        return (ObjectNode) new ObjectMapper().readTree(Fixtures.model(fixture).resolve("config.json").toFile());
    }
}
