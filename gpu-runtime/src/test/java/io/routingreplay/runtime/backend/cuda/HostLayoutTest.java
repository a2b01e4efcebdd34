package io.routingreplay.runtime.backend.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.model.Rope;
import io.routingreplay.runtime.testing.Fixtures;
import io.routingreplay.runtime.weights.WeightStore;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The host side of what the CUDA backend uploads for q/k/v bias, partial rotary, shared experts and the router's
 * correction bias, checked against the checkpoint's own tensors read by name and the CPU backend's RoPE table (no
 * GPU needed).
 */
class HostLayoutTest {

    private static float[] tensor(WeightStore store, String name) {
        return store.get(name).toFloatArray();
    }

    @Test
    void qkvBiasIsQThenKThenVAsTheStackedProjectionRows() {
        ModelConfig c = ModelConfigLoader.load(Fixtures.model("glm4-moe-tiny"));
        WeightStore store = WeightStore.open(Fixtures.model("glm4-moe-tiny"));
        ModelWeights w = ModelWeights.load(c, store);
        for (int l = 0; l < c.numLayers; l++) {
            float[] b = HostLayout.qkvBias(w.layers[l].gqa());
            int q = c.qDim(), kv = c.kvDim();
            assertEquals(q + 2 * kv, b.length);
            String p = "model.layers." + l + ".self_attn.";
            assertArrayEquals(tensor(store, p + "q_proj.bias"), Arrays.copyOfRange(b, 0, q));
            assertArrayEquals(tensor(store, p + "k_proj.bias"), Arrays.copyOfRange(b, q, q + kv));
            assertArrayEquals(tensor(store, p + "v_proj.bias"), Arrays.copyOfRange(b, q + kv, q + 2 * kv));
        }
    }

    @Test
    void noBiasWithoutQkvBias() {
        ModelConfig c = ModelConfigLoader.load(Fixtures.model("qwen3-moe-tiny"));
        ModelWeights w = ModelWeights.load(c, WeightStore.open(Fixtures.model("qwen3-moe-tiny")));
        assertNull(HostLayout.qkvBias(w.layers[0].gqa()));
        assertEquals(0, ForwardPass.extendedQkvRotaryDim(c));   // qk_norm_rope_kv, as before
    }

    @Test
    void glmSharedExpertsAreOneSwigluBlockOfTheCheckpoint() {
        ModelConfig c = ModelConfigLoader.load(Fixtures.model("glm4-moe-tiny"));
        ModelWeights w = ModelWeights.load(c, WeightStore.open(Fixtures.model("glm4-moe-tiny")));
        assertNull(w.layers[0].moe);                            // first_k_dense_replace 1: layer 0 dense
        for (int l = 1; l < c.numLayers; l++) {
            // one shared expert of moe_intermediate_size: gate/up [16, 64], down [64, 16]
            assertArrayEquals(new long[]{16, 64}, w.layers[l].moe.shared.gate().shape);
            assertArrayEquals(new long[]{64, 16}, w.layers[l].moe.shared.down().shape);
        }
        assertEquals(16, c.sharedExpertIntermediateSize);
        // act holds the widest of routed pairs, dense rows and shared rows: here the dense MLP (112 per token)
        assertEquals(512L * 112, Workspace.actFloats(c, 512));
    }

    @Test
    void correctionBiasIsTheCheckpointsFp32ValuesAndOnlyWhereTheRouterHasOne() {
        ModelConfig c = ModelConfigLoader.load(Fixtures.model("glm4-moe-tiny"));
        WeightStore store = WeightStore.open(Fixtures.model("glm4-moe-tiny"));
        ModelWeights w = ModelWeights.load(c, store);
        for (int l = 1; l < c.numLayers; l++) {
            // stored F32 in the checkpoint: router_grouped reads it as fp32, the values the CPU router adds
            assertArrayEquals(tensor(store, "model.layers." + l + ".mlp.gate.e_score_correction_bias"),
                    HostLayout.routerBias(w.layers[l].moe));
        }
        ModelConfig q = ModelConfigLoader.load(Fixtures.model("qwen2-moe-tiny"));
        ModelWeights qw = ModelWeights.load(q, WeightStore.open(Fixtures.model("qwen2-moe-tiny")));
        assertNull(HostLayout.routerBias(qw.layers[0].moe));
        assertArrayEquals(new long[]{1, 64}, qw.layers[0].moe.sharedGate.shape);  // the gate row router_grouped reads
    }

    @Test
    void sharedExpertRowsFitTheActivationBuffer() throws IOException {
        ModelConfig c = ModelConfigLoader.load(Fixtures.model("qwen2-moe-tiny"));
        // 40-wide shared expert, 4 x 16 routed pairs, 96-wide dense layer: the dense rows are widest
        assertEquals(96L, Workspace.actFloats(c, 1));
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(
                Fixtures.model("qwen2-moe-tiny").resolve("config.json").toFile());
        ModelConfig wide = ModelConfigLoader.parse(json.put("shared_expert_intermediate_size", 200), null);
        assertEquals(200L * 3, Workspace.actFloats(wide, 3));   // the shared rows when they are widest
    }

    @Test
    void qwen2BiasRotatesWholeHeads() {
        ModelConfig c = ModelConfigLoader.load(Fixtures.model("qwen2-moe-tiny"));
        assertEquals(16, ForwardPass.extendedQkvRotaryDim(c));  // bias: qkv_bias_norm_rope_kv, whole heads
    }

    @Test
    void partialRotaryTableIsTheCpusOverTheRotaryWidth() {
        ModelConfig c = ModelConfigLoader.load(Fixtures.model("glm4-moe-tiny"));
        // partial_rotary_factor 0.5 of head_dim 16: 8 rotated dims, 4 frequencies 1 / theta^(2i / 8)
        assertEquals(8, ForwardPass.extendedQkvRotaryDim(c));
        float[] cuda = Rope.inverseFrequencies(c);              // what CudaModelRunner uploads
        assertArrayEquals(c.rope.inverseFrequencies(), cuda);   // what the CPU backend's RopeTable rotates with
        assertEquals(4, cuda.length);
        for (int i = 0; i < 4; i++) {
            assertEquals(1.0 / Math.pow(1e6, 2.0 * i / 8), cuda[i], 1e-6 * cuda[i]);
        }
        assertTrue(cuda.length <= c.headDim / 2);               // the workspace's invFreq holds head_dim / 2
    }
}
