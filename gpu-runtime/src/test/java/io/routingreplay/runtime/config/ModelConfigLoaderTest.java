package io.routingreplay.runtime.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelConfigLoaderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode qwen() {
        ObjectNode c = JSON.createObjectNode();
        c.put("model_type", "qwen3_moe").put("vocab_size", 100).put("hidden_size", 32).put("num_hidden_layers", 4)
                .put("num_attention_heads", 4).put("num_key_value_heads", 2).put("head_dim", 16)
                .put("intermediate_size", 64).put("moe_intermediate_size", 24).put("num_experts_per_tok", 2);
        return c;
    }

    @Test
    void acceptsBothSpellings() {
        ObjectNode vendor = qwen().put("num_experts", 8).put("rope_theta", 5e5).put("torch_dtype", "float16");
        ObjectNode hf5 = qwen().put("num_local_experts", 8).put("dtype", "float16");
        hf5.putObject("rope_parameters").put("rope_theta", 5e5).put("rope_type", "default");
        for (ObjectNode c : new ObjectNode[]{vendor, hf5}) {
            ModelConfig m = ModelConfigLoader.parse(c, null);
            assertEquals(8, m.numExperts);
            assertEquals(5e5, m.ropeTheta);
            assertEquals("float16", m.dtype);
        }
    }

    @Test
    void mlpOnlyLayersAndSparseStepDecideTheMoeLayers() {
        ObjectNode c = qwen().put("num_experts", 8).put("decoder_sparse_step", 2);
        c.putArray("mlp_only_layers").add(3);
        ModelConfig m = ModelConfigLoader.parse(c, null);
        assertArrayEquals(new int[]{1}, m.moeLayerIndices);
        assertFalse(m.isMoeLayer(0));
        assertEquals(0, m.moeSlot(1));
    }

    @Test
    void headDimDefaultsToHiddenOverHeadsAndEosIdsMerge() {
        ObjectNode c = qwen().put("num_experts", 8);
        c.putNull("head_dim");
        c.putArray("eos_token_id").add(5).add(6);
        ObjectNode gen = JSON.createObjectNode().put("eos_token_id", 7);
        ModelConfig m = ModelConfigLoader.parse(c, gen);
        assertEquals(8, m.headDim);
        assertEquals(java.util.List.of(5, 6, 7), m.eosTokenIds);
    }

    @Test
    void failuresNameTheProblem() {
        ObjectNode llama = qwen().put("model_type", "llama");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfigLoader.parse(llama, null))
                .getMessage().contains("unsupported model_type 'llama'"));
        ObjectNode noExperts = qwen();
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfigLoader.parse(noExperts, null))
                .getMessage().contains("num_experts"));
        ObjectNode noHidden = qwen().put("num_experts", 8);
        noHidden.remove("hidden_size");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfigLoader.parse(noHidden, null))
                .getMessage().contains("hidden_size"));
        ObjectNode clipped = qwen().put("model_type", "olmoe").put("num_experts", 8).put("clip_qkv", 8.0);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfigLoader.parse(clipped, null))
                .getMessage().contains("clip_qkv"));
        ObjectNode biased = qwen().put("num_experts", 8).put("attention_bias", true);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfigLoader.parse(biased, null))
                .getMessage().contains("attention_bias"));
        ObjectNode sliding = qwen().put("num_experts", 8).put("use_sliding_window", true).put("sliding_window", 1024);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfigLoader.parse(sliding, null))
                .getMessage().contains("sliding_window"));
        ObjectNode slidingOff = qwen().put("num_experts", 8).put("use_sliding_window", false).put("sliding_window", 1024);
        ModelConfigLoader.parse(slidingOff, null);
        ObjectNode yarn = qwen().put("num_experts", 8);
        yarn.putObject("rope_scaling").put("rope_type", "yarn");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfigLoader.parse(yarn, null))
                .getMessage().contains("yarn"));
    }
}
