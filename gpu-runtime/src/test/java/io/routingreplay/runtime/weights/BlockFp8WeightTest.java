package io.routingreplay.runtime.weights;

import io.routingreplay.runtime.testing.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * fp8 block-quantized weights come out of {@link WeightStore} as the bf16 values an independent dequantization
 * computed: {@code scripts/make-fp8-test-checkpoint.py} (numpy, its own e4m3 decoder checked against the OCP FP8
 * spec values and against ml_dtypes; the expected values also against torch's float8_e4m3fn and transformers 5.17's
 * own Fp8Dequantize) wrote {@code fp8-block-checkpoint/model.safetensors} and the expected bf16 values in
 * {@code expected-bf16.safetensors}.
 */
class BlockFp8WeightTest {
    private static final String A = "model.layers.0.mlp.down_proj.weight";
    private static final String B = "model.layers.0.self_attn.kv_a_proj_with_mqa.weight";
    private static final String ROUTER = "model.layers.0.mlp.gate.weight";

    private static Path checkpoint() throws Exception {
        return Path.of(BlockFp8WeightTest.class.getResource("/fp8-block-checkpoint/config.json").toURI()).getParent();
    }

    private static boolean sameBf16(float want, float got) {
        return Float.isNaN(want) ? Float.isNaN(got) : Float.floatToRawIntBits(want) == Float.floatToRawIntBits(got);
    }

    @Test
    void dequantizesAsTheIndependentNumpyOracleDoes() throws Exception {
        Path dir = checkpoint();
        WeightStore store = WeightStore.open(dir);
        Map<String, TensorView> expected = new SafetensorsFile(dir.resolve("expected-bf16.safetensors")).tensors();
        assertEquals(Set.of(A, B, ROUTER), expected.keySet());
        int nans = 0;
        for (TensorView want : expected.values()) {
            TensorView got = store.get(want.name);
            assertEquals(Dtype.BF16, got.dtype, want.name);
            assertArrayEquals(want.shape, got.shape, want.name);
            int n = Math.toIntExact(want.numel());
            float[] all = new float[n];
            got.toFloat(0, all, 0, n);
            float[] mid = new float[Math.min(1000, n - 37)];
            got.toFloat(37, mid, 0, mid.length); // a start inside a row and a block
            ByteBuffer bytes = got.bytes();
            assertEquals(n * 2, bytes.remaining(), want.name);
            for (int i = 0; i < n; i++) {
                float w = want.get(i);
                assertTrue(sameBf16(w, got.get(i)), want.name + "[" + i + "]: " + w + " vs " + got.get(i));
                assertTrue(sameBf16(w, all[i]), want.name + "[" + i + "] via toFloat");
                assertTrue(sameBf16(w, Dtype.bf16ToFloat(bytes.getShort(i * 2))), want.name + "[" + i + "] via bytes");
                if (i >= 37 && i < 37 + mid.length) {
                    assertTrue(sameBf16(w, mid[i - 37]), want.name + "[" + i + "] via toFloat from 37");
                }
                nans += Float.isNaN(w) ? 1 : 0;
            }
        }
        assertEquals(2, nans, "the oracle's first weight holds both NaN codes and no other NaN");
    }

    @Test
    void scalesAreConsumedAndUnquantizedTensorsPassThrough() throws Exception {
        WeightStore store = WeightStore.open(checkpoint());
        assertEquals(Set.of(A, B, ROUTER), store.names());
        assertEquals(new Fp8BlockQuantization(128, 128), store.quantization().orElseThrow());
        TensorView router = store.get(ROUTER);
        assertEquals(Dtype.BF16, router.dtype);
        TensorView stored = new SafetensorsFile(checkpoint().resolve("model.safetensors")).tensors().get(ROUTER);
        assertEquals(stored.bytes(), router.bytes());
    }

    /** Small blocks, values worked out by hand: the block of element (i, j) is (i / 2, j / 3). */
    @Test
    void eachElementTakesTheScaleOfItsOwnBlock(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{\"quantization_config\": {\"quant_method\": \"fp8\","
                + " \"fmt\": \"e4m3\", \"activation_scheme\": \"dynamic\", \"weight_block_size\": [2, 3]}}");
        // 3 x 4 codes: 0x38 = 1, 0x40 = 2, 0xB8 = -1, 0x7E = 448, 0x01 = 2^-9, 0x3C = 1.5, 0x00 = 0
        byte[] codes = {0x38, 0x40, (byte) 0xB8, 0x38,
                        0x7E, 0x01, 0x3C, 0x40,
                        0x38, 0x00, 0x40, (byte) 0xB8};
        float[] scales = {0.5f, 4f, 8f, 0.25f}; // [2 x 2]: rows {0,1} {2}, cols {0,1,2} {3}
        ByteBuffer s = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : scales) {
            s.putFloat(f);
        }
        new SafetensorsWriter().putRaw("w.weight", "F8_E4M3", new long[]{3, 4}, codes)
                .putRaw("w.weight_scale_inv", "F32", new long[]{2, 2}, s.array()).write(dir.resolve("model.safetensors"));
        float[] want = {0.5f, 1f, -0.5f, 4f,
                        224f, 0x1p-10f, 0.75f, 8f,
                        8f, 0f, 16f, -0.25f};
        TensorView w = WeightStore.open(dir).get("w.weight");
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], w.get(i), 0f, "element " + i);
        }
    }

    @Test
    void theProductIsRoundedToBf16NearestEven(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{\"quantization_config\": {\"quant_method\": \"fp8\","
                + " \"weight_block_size\": [128, 128]}}");
        // 1.0 x (1 + 2^-8): exactly half-way between bf16 1.0 and 1.0078125, ties to even (1.0);
        // 1.0 x (1 + 3 x 2^-8): half-way again, the even neighbour is the upper one (1.015625).
        float[] scales = {1f + 0x1p-8f, 1f + 3 * 0x1p-8f};
        for (float scale : scales) {
            ByteBuffer s = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(scale);
            new SafetensorsWriter().putRaw("w.weight", "F8_E4M3", new long[]{1, 1}, new byte[]{0x38})
                    .putRaw("w.weight_scale_inv", "F32", new long[]{1, 1}, s.array()).write(dir.resolve("model.safetensors"));
            float got = WeightStore.open(dir).get("w.weight").get(0);
            assertEquals(scale == scales[0] ? 1f : 1.015625f, got, 0f, "scale " + scale);
        }
    }
}
