package io.routingreplay.runtime.model.deepseekv2;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.model.attention.MlaAttention;
import io.routingreplay.runtime.model.router.SoftmaxGroupLimitedGreedy;
import io.routingreplay.runtime.model.router.SoftmaxTopK;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** deepseek_v2's config.json in DeepSeek-V2-Lite's shape (4 of its 27 layers) and the full V2's routing. */
class DeepseekV2Test {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode lite() {
        ObjectNode c = JSON.createObjectNode().put("model_type", "deepseek_v2").put("vocab_size", 102400)
                .put("hidden_size", 2048).put("num_hidden_layers", 4).put("num_attention_heads", 16)
                .put("num_key_value_heads", 16).put("intermediate_size", 10944).put("moe_intermediate_size", 1408)
                .put("n_routed_experts", 64).put("n_shared_experts", 2).put("num_experts_per_tok", 6)
                .put("first_k_dense_replace", 1).put("norm_topk_prob", false).put("routed_scaling_factor", 1.0)
                .put("topk_method", "greedy").put("kv_lora_rank", 512).put("qk_nope_head_dim", 128)
                .put("qk_rope_head_dim", 64).put("v_head_dim", 128).put("rope_theta", 10000)
                .put("max_position_embeddings", 163840);
        c.putNull("q_lora_rank");
        return c;
    }

    @Test
    void liteIsMlaWithoutQLoraTwoSharedExpertsAndGreedySoftmax() {
        ModelConfig c = ModelConfigLoader.parse(lite(), null);
        assertEquals(new MlaAttention(16, 0, 512, 128, 64, 128, true), c.attention);
        assertEquals(new SoftmaxTopK(64, 6, false, 1f), c.router);
        assertEquals(2 * 1408, c.sharedExpertIntermediateSize);
        assertArrayEquals(new int[]{1, 2, 3}, c.moeLayerIndices);
    }

    @Test
    void groupLimitedGreedyWithScaling() {
        ObjectNode v2 = lite().put("n_routed_experts", 160).put("topk_method", "group_limited_greedy")
                .put("n_group", 8).put("topk_group", 3).put("routed_scaling_factor", 16.0);
        assertEquals(new SoftmaxGroupLimitedGreedy(160, 6, 8, 3, false, 16f), ModelConfigLoader.parse(v2, null).router);
    }

    @Test
    void refusesWhatTransformersDoesNotCompute() {
        ObjectNode norm = lite().put("norm_topk_prob", true);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfigLoader.parse(norm, null))
                .getMessage().contains("norm_topk_prob"));
        ObjectNode method = lite().put("topk_method", "noaux_tc");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfigLoader.parse(method, null))
                .getMessage().contains("topk_method 'noaux_tc'"));
    }
}
