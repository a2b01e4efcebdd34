package io.routingreplay.runtime.model.qwen2moe;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.router.SoftmaxTopK;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** qwen2_moe's config.json as the Hub serves it (Qwen1.5-MoE-A2.7B shape, 4 layers) and as transformers 5 writes it. */
class Qwen2MoeTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode common() {
        return JSON.createObjectNode().put("model_type", "qwen2_moe").put("vocab_size", 151936)
                .put("hidden_size", 2048).put("num_hidden_layers", 4).put("num_attention_heads", 16)
                .put("num_key_value_heads", 16).put("intermediate_size", 5632).put("moe_intermediate_size", 1408)
                .put("shared_expert_intermediate_size", 5632).put("num_experts", 60).put("num_experts_per_tok", 4)
                .put("norm_topk_prob", false).put("decoder_sparse_step", 1).put("use_sliding_window", false)
                .put("max_position_embeddings", 8192);
    }

    /** The Hub's file has no qkv_bias key (transformers' default, true, applies) and a top-level rope_theta. */
    private static ObjectNode hub() {
        return common().put("rope_theta", 1000000.0);
    }

    private static ObjectNode transformers5() {
        ObjectNode c = common().put("qkv_bias", true);
        c.putArray("mlp_only_layers");
        c.putObject("rope_parameters").put("rope_type", "default").put("rope_theta", 1000000.0);
        return c;
    }

    @Test
    void bothSpellingsGiveTheSameParts() {
        for (ObjectNode json : new ObjectNode[]{hub(), transformers5()}) {
            ModelConfig c = ModelConfigLoader.parse(json, null);
            assertEquals(60, c.numExperts);
            assertArrayEquals(new int[]{0, 1, 2, 3}, c.moeLayerIndices);
            assertEquals(5632, c.sharedExpertIntermediateSize);
            assertTrue(c.sharedExpertGated, "the shared expert is scaled by its sigmoid gate");
            assertEquals(new GqaAttention(16, 16, 128, QkNorm.NONE, true, 128), c.attention);
            assertEquals(new SoftmaxTopK(60, 4, false, 1f), c.router);
            assertEquals(1e6, c.rope.theta());
        }
    }

    @Test
    void denseLayersAsQwenMoeDecidesThem() {
        ObjectNode mixed = hub();
        mixed.putArray("mlp_only_layers").add(2);
        assertArrayEquals(new int[]{0, 1, 3}, ModelConfigLoader.parse(mixed, null).moeLayerIndices);
        assertArrayEquals(new int[]{1, 3},
                ModelConfigLoader.parse(hub().put("decoder_sparse_step", 2), null).moeLayerIndices);
    }

    @Test
    void qkvBiasCanBeTurnedOff() {
        assertEquals(false, ((GqaAttention) ModelConfigLoader.parse(hub().put("qkv_bias", false), null).attention)
                .qkvBias());
    }

    @Test
    void refusesSlidingWindowAttention() {
        String msg = assertThrows(IllegalArgumentException.class, () -> ModelConfigLoader.parse(
                hub().put("use_sliding_window", true), null)).getMessage();
        assertTrue(msg.contains("use_sliding_window: true"), msg);
    }
}
