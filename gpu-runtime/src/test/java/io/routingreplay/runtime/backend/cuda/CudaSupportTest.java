package io.routingreplay.runtime.backend.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the CUDA backend accepts, decided from the config alone (no GPU needed). */
class CudaSupportTest {

    @ParameterizedTest
    @ValueSource(strings = {"qwen3-moe-tiny", "mixtral-tiny", "olmoe-tiny", "qwen3-moe-mixed-tiny", "glm4-moe-tiny",
            "qwen2-moe-tiny"})
    void acceptsTheGqaFixtures(String fixture) {
        assertDoesNotThrow(() -> CudaModelRunner.checkSupported(
                ModelConfigLoader.load(Fixtures.model(fixture))));
    }

    @Test
    void refusesAHeadDimThatIsNotAMultipleOf4() throws IOException {
        ObjectNode json = fixtureConfig("qwen3-moe-tiny").put("head_dim", 10);
        String msg = assertThrows(IllegalArgumentException.class, () -> CudaModelRunner.checkSupported(
                ModelConfigLoader.parse(json, null))).getMessage();
        assertTrue(msg.endsWith(": head_dim must be a multiple of 4 up to 256"), msg);
    }

    /** The GLM-4.5-Air example (`run bench --config examples/glm-4.5-air-config.json`): 96 query heads over 8 K/V
     *  heads, bias, partial rotary, a shared expert. */
    @Test
    void acceptsTheGlm45AirExample() throws IOException {
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(
                Fixtures.root().resolveSibling("examples").resolve("glm-4.5-air-config.json").toFile());
        assertDoesNotThrow(() -> CudaModelRunner.checkSupported(ModelConfigLoader.parse(json, null)));
    }

    /** The *_grouped attention entries ForwardPass names for more than 8 query heads per K/V head are in the PTX. */
    @Test
    void theGroupedAttentionEntriesAreCompiled() throws IOException {
        String ptx = KernelSources.ptx();
        for (String kv : List.of("", "_bf16", "_fp8")) {
            assertTrue(ptx.contains(".entry attention_grouped" + kv + "("), "attention_grouped" + kv);
            for (int d : new int[] {16, 32, 64, 128}) {
                String name = "attention_staged_d" + d + kv + "_grouped";
                assertTrue(ptx.contains(".entry " + name + "("), name);
            }
        }
    }

    /** GLM-4.5 / 4.6 / -Air: 96 query heads over 8 K/V heads (12 each) run in head groups of at most 8. */
    @Test
    void acceptsTwelveQueryHeadsPerKvHeadThroughHeadGroups() throws IOException {
        ObjectNode json = fixtureConfig("glm4-moe-tiny").put("num_attention_heads", 24).put("num_key_value_heads", 2);
        assertDoesNotThrow(() -> CudaModelRunner.checkSupported(ModelConfigLoader.parse(json, null)));
        assertEquals(2, ForwardPass.attentionHeadGroups(12));
        assertEquals(1, ForwardPass.attentionHeadGroups(8));
        assertEquals(1, ForwardPass.attentionHeadGroups(1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"deepseek-v3-tiny", "deepseek-v2-tiny", "deepseek-v2-greedy-tiny"})
    void acceptsTheMlaFixtures(String fixture) {
        assertDoesNotThrow(() -> CudaModelRunner.checkSupported(
                ModelConfigLoader.load(Fixtures.model(fixture))));
    }

    /** `bench --synthetic-config` / CudaBenchmark --config on DeepSeek-V2-Lite and Moonlight-16B-A3B (MLA, YaRN). */
    @ParameterizedTest
    @ValueSource(strings = {"deepseek-v2-lite-config.json", "moonlight-16b-a3b-config.json"})
    void acceptsTheMlaExampleConfigs(String file) {
        assertDoesNotThrow(() -> CudaModelRunner.checkSupported(MlaLayoutTest.example(file)));
    }

    /** The GPU checks (CudaChecks, `BUNDLE/run check`) run every accepted fixture: the DeepSeek (MLA) ones and
     *  OLMoE's head_dim 12 now too. */
    @Test
    void theGpuChecksCoverEveryFixture() {
        assertEquals(List.of("qwen3-moe-tiny", "mixtral-tiny", "olmoe-tiny", "qwen3-moe-mixed-tiny", "deepseek-v3-tiny",
                "deepseek-v2-tiny", "deepseek-v2-greedy-tiny", "glm4-moe-tiny", "qwen2-moe-tiny"),
                CudaChecks.acceptedFixtures());
    }

    @Test
    void refusesMlaHeadsWiderThanTheAttentionKernels() throws IOException {
        // qk_head_dim 240 + 32 = 272: the padded K/V head is wider than attention.cuh's ATT_MAXD (256)
        ObjectNode json = fixtureConfig("deepseek-v3-tiny").put("qk_nope_head_dim", 240).put("qk_rope_head_dim", 32);
        String msg = assertThrows(IllegalArgumentException.class,
                () -> CudaModelRunner.checkSupported(ModelConfigLoader.parse(json, null))).getMessage();
        assertTrue(msg.startsWith("the CUDA backend cannot run deepseek_v3"), msg);
        assertTrue(msg.contains(": its attention is MLA") && msg.contains("wider than the attention kernels' 256")
                && msg.endsWith("(use --backend cpu)"), msg);
    }

    @Test
    void acceptsPartialRotaryWithoutBias() throws IOException {
        ObjectNode json = fixtureConfig("glm4-moe-tiny").put("attention_bias", false);
        assertDoesNotThrow(() -> CudaModelRunner.checkSupported(
                ModelConfigLoader.parse(json, null)));
    }

    @Test
    void acceptsTheSharedExpertGateWithoutBias() throws IOException {
        ObjectNode json = fixtureConfig("qwen2-moe-tiny").put("qkv_bias", false);
        assertDoesNotThrow(() -> CudaModelRunner.checkSupported(
                ModelConfigLoader.parse(json, null)));
    }

    @Test
    void refusesSigmoidGroupsOfOneExpert() throws IOException {
        // 16 experts in 16 groups: router_grouped scores a group by the sum of its two best (the second is -inf)
        ObjectNode json = fixtureConfig("glm4-moe-tiny").put("n_group", 16).put("topk_group", 8);
        String msg = assertThrows(IllegalArgumentException.class,
                () -> CudaModelRunner.checkSupported(
                ModelConfigLoader.parse(json, null))).getMessage();
        assertTrue(msg.contains(": its router is ") && msg.contains("groups of one expert are not supported")
                && msg.endsWith("(use --backend cpu)"), msg);
    }

    @Test
    void refusesAnOddSharedExpertWidth() throws IOException {
        ObjectNode json = fixtureConfig("qwen2-moe-tiny").put("shared_expert_intermediate_size", 36);
        String msg = assertThrows(IllegalArgumentException.class,
                () -> CudaModelRunner.checkSupported(
                ModelConfigLoader.parse(json, null))).getMessage();
        assertTrue(msg.endsWith(": hidden, q and intermediate sizes must be multiples of 8"), msg);
    }

    private static ObjectNode fixtureConfig(String fixture) throws IOException {
        return (ObjectNode) new ObjectMapper().readTree(Fixtures.model(fixture).resolve("config.json").toFile());
    }
}
