package io.routingreplay.runtime.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Fp8BlockQuantizationTest {

    private static Optional<Fp8BlockQuantization> parse(String quantizationConfig) throws Exception {
        return Fp8BlockQuantization.fromConfig(new ObjectMapper().readTree(
                "{\"model_type\": \"deepseek_v3\", \"quantization_config\": " + quantizationConfig + "}"), "config.json");
    }

    private static void refused(String quantizationConfig, String... mustName) {
        String msg = assertThrows(IllegalArgumentException.class, () -> parse(quantizationConfig)).getMessage();
        for (String s : mustName) {
            assertTrue(msg.contains(s), "'" + s + "' not in: " + msg);
        }
        assertTrue(msg.contains("supported: "), msg);
    }

    @Test
    void readsTheHubsFp8BlockConfigs() throws Exception {
        // DeepSeek-V3/R1 and Qwen3-*-FP8 spell it this way; DeepSeek-V3.1 adds scale_fmt ue8m0.
        assertEquals(Optional.of(new Fp8BlockQuantization(128, 128)), parse("{\"activation_scheme\": \"dynamic\","
                + " \"fmt\": \"e4m3\", \"quant_method\": \"fp8\", \"weight_block_size\": [128, 128]}"));
        assertEquals(Optional.of(new Fp8BlockQuantization(128, 128)), parse("{\"activation_scheme\": \"dynamic\","
                + " \"modules_to_not_convert\": [\"lm_head\"], \"fmt\": \"e4m3\", \"quant_method\": \"fp8\","
                + " \"weight_block_size\": [128, 128]}"));
        assertEquals(Optional.of(new Fp8BlockQuantization(128, 64)), parse("{\"quant_method\": \"fp8\","
                + " \"scale_fmt\": \"ue8m0\", \"weight_block_size\": [128, 64]}"));
        assertEquals(Optional.empty(), Fp8BlockQuantization.fromConfig(new ObjectMapper().readTree(
                "{\"model_type\": \"qwen3_moe\", \"quantization_config\": null}"), "config.json"));
    }

    @Test
    void everyOtherQuantizationIsRefusedByName() {
        refused("{\"quant_method\": \"gptq\", \"bits\": 4}", "quant_method \"gptq\"");
        refused("{\"quant_method\": \"compressed-tensors\", \"format\": \"float-quantized\"}", "compressed-tensors");
        refused("{\"bits\": 4}", "quant_method (missing)");
        refused("{\"quant_method\": \"fp8\", \"fmt\": \"e5m2\", \"weight_block_size\": [128, 128]}", "fmt \"e5m2\"");
        refused("{\"quant_method\": \"fp8\", \"activation_scheme\": \"static\", \"weight_block_size\": [128, 128]}",
                "activation_scheme \"static\"");
        refused("{\"quant_method\": \"fp8\", \"activation_scheme\": \"dynamic\"}", "no weight_block_size",
                "per-tensor");
        refused("{\"quant_method\": \"fp8\", \"weight_block_size\": null}", "no weight_block_size");
        refused("{\"quant_method\": \"fp8\", \"weight_block_size\": [128]}", "weight_block_size [128]");
        refused("{\"quant_method\": \"fp8\", \"weight_block_size\": [128.5, 128]}", "not two integers");
        refused("{\"quant_method\": \"fp8\", \"weight_block_size\": [0, 128]}", "two positive integers");
        refused("{\"quant_method\": \"fp8\", \"scale_fmt\": \"mx\", \"weight_block_size\": [128, 128]}",
                "scale_fmt \"mx\"");
        refused("\"fp8\"", "not an object");
    }
}
