package io.routingreplay.runtime.weights;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.testing.Fixtures;
import io.routingreplay.runtime.testing.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WeightStoreTest {

    @Test
    void readsFloat32AndConvertsHalfTypes() throws Exception {
        Path dir = Files.createTempDirectory("st");
        new SafetensorsWriter().put("a", new long[]{2, 2}, new float[]{1f, -2.5f, 0.125f, 3e-3f}).write(dir.resolve("model.safetensors"));
        TensorView t = WeightStore.open(dir).get("a");
        assertEquals(Dtype.F32, t.dtype);
        assertEquals(-2.5f, t.get(1));
        assertEquals(1f, Dtype.f16ToFloat((short) 0x3c00));
        assertEquals(-2f, Dtype.f16ToFloat((short) 0xc000));
        assertEquals(0x1.0p-24f, Dtype.f16ToFloat((short) 0x0001));
        assertEquals(1.5f, Dtype.bf16ToFloat(Dtype.floatToBf16(1.5f)));
    }

    @Test
    void missingTensorIsNamed(@TempDir Path dir) throws Exception {
        Path model = Fixtures.model("mixtral-tiny");
        Files.copy(model.resolve("config.json"), dir.resolve("config.json"));
        new SafetensorsWriter().put("model.embed_tokens.weight", new long[]{1000, 64}, new float[64000])
                .write(dir.resolve("model.safetensors"));
        ModelConfig c = ModelConfigLoader.load(dir);
        String msg = assertThrows(IllegalArgumentException.class, () -> ModelWeights.load(c, WeightStore.open(dir))).getMessage();
        assertTrue(msg.contains("model.norm.weight"), msg);
    }

    @Test
    void shapeMismatchIsNamed(@TempDir Path dir) throws Exception {
        Path model = Fixtures.model("mixtral-tiny");
        Files.copy(model.resolve("config.json"), dir.resolve("config.json"));
        new SafetensorsWriter().put("model.embed_tokens.weight", new long[]{999, 64}, new float[999 * 64])
                .write(dir.resolve("model.safetensors"));
        ModelConfig c = ModelConfigLoader.load(dir);
        String msg = assertThrows(IllegalArgumentException.class, () -> ModelWeights.load(c, WeightStore.open(dir))).getMessage();
        assertTrue(msg.contains("model.embed_tokens.weight") && msg.contains("[999, 64]") && msg.contains("[1000, 64]"), msg);
    }

    @Test
    void missingShardAndTruncatedFileAreReported(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\"}}");
        String msg = assertThrows(IllegalArgumentException.class, () -> WeightStore.open(dir)).getMessage();
        assertTrue(msg.contains("model-00001-of-00002.safetensors"), msg);
        Path f = Files.createTempDirectory("trunc").resolve("model.safetensors");
        new SafetensorsWriter().put("a", new long[]{4}, new float[4]).write(f);
        byte[] all = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(all, all.length - 4));
        msg = assertThrows(IllegalArgumentException.class, () -> WeightStore.open(f.getParent())).getMessage();
        assertTrue(msg.contains("truncated"), msg);
    }

    private static final String FP8_CONFIG = "{\"quantization_config\": {\"quant_method\": \"fp8\", \"fmt\": \"e4m3\","
            + " \"activation_scheme\": \"dynamic\", \"weight_block_size\": [128, 128]}}";

    private static byte[] f32(float... v) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(v.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    private static String refusal(Path dir) {
        return assertThrows(IllegalArgumentException.class, () -> WeightStore.open(dir)).getMessage();
    }

    @Test
    void fp8WeightsWithoutAQuantizationConfigAreRefused(@TempDir Path dir) throws Exception {
        new SafetensorsWriter().putRaw("w.weight", "F8_E4M3", new long[]{2, 2}, new byte[4])
                .putRaw("w.weight_scale_inv", "F32", new long[]{1, 1}, f32(1f)).write(dir.resolve("model.safetensors"));
        String msg = refusal(dir);
        assertTrue(msg.contains("'w.weight' is float8_e4m3fn") && msg.contains("no quantization_config"), msg);
    }

    @Test
    void fp8WeightsWithoutTheirScalesAreRefused(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), FP8_CONFIG);
        new SafetensorsWriter().putRaw("w.weight", "F8_E4M3", new long[]{2, 2}, new byte[4])
                .write(dir.resolve("model.safetensors"));
        String msg = refusal(dir);
        assertTrue(msg.contains("'w.weight_scale_inv'"), msg);
    }

    @Test
    void scalesOffTheBlockGridAreRefused(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), FP8_CONFIG);
        new SafetensorsWriter().putRaw("w.weight", "F8_E4M3", new long[]{200, 300}, new byte[60_000])
                .putRaw("w.weight_scale_inv", "F32", new long[]{1, 3}, f32(1f, 1f, 1f)).write(dir.resolve("model.safetensors"));
        String msg = refusal(dir);
        assertTrue(msg.contains("w.weight_scale_inv") && msg.contains("[1, 3]") && msg.contains("[2, 3]"), msg);
    }

    @Test
    void scalesWithoutAnFp8WeightAreRefused(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), FP8_CONFIG);
        new SafetensorsWriter().put("w.weight", new long[]{2, 2}, new float[4])
                .put("w.weight_scale_inv", new long[]{1, 1}, new float[1])
                .put("v.weight_scale_inv", new long[]{1, 1}, new float[1]).write(dir.resolve("model.safetensors"));
        String msg = refusal(dir);
        assertTrue(msg.contains("is F32, not float8_e4m3fn") || msg.contains("does not have"), msg);
    }

    @Test
    void unsupportedQuantizationAndFp8FormatsAreRefusedAtOpen(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{\"quantization_config\": {\"quant_method\": \"awq\"}}");
        new SafetensorsWriter().put("w.weight", new long[]{2}, new float[2]).write(dir.resolve("model.safetensors"));
        assertTrue(refusal(dir).contains("quant_method \"awq\" is not supported"));
        Files.writeString(dir.resolve("config.json"), FP8_CONFIG);
        new SafetensorsWriter().putRaw("w.weight", "F8_E5M2", new long[]{2}, new byte[2]).write(dir.resolve("model.safetensors"));
        String msg = refusal(dir);
        assertTrue(msg.contains("F8_E5M2") && msg.contains("supported: BF16, F16, F32, and F8_E4M3"), msg);
    }
}
