package io.routingreplay.runtime.model.deepseekv3;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.model.Rope;
import io.routingreplay.runtime.model.attention.MlaAttention;
import io.routingreplay.runtime.model.router.SigmoidGroupLimited;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** deepseek_v3's config.json as the Hub serves it (DeepSeek-V3 shape, 4 layers) and as transformers 5 writes it. */
class DeepseekV3Test {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode common() {
        ObjectNode c = JSON.createObjectNode().put("model_type", "deepseek_v3").put("vocab_size", 129280)
                .put("hidden_size", 7168).put("num_hidden_layers", 4).put("num_attention_heads", 128)
                .put("num_key_value_heads", 128).put("intermediate_size", 18432).put("moe_intermediate_size", 2048)
                .put("n_shared_experts", 1).put("num_experts_per_tok", 8).put("n_group", 8).put("topk_group", 4)
                .put("first_k_dense_replace", 3).put("norm_topk_prob", true).put("routed_scaling_factor", 2.5)
                .put("q_lora_rank", 1536).put("kv_lora_rank", 512).put("qk_nope_head_dim", 128)
                .put("qk_rope_head_dim", 64).put("v_head_dim", 128).put("max_position_embeddings", 163840);
        return c;
    }

    private static ObjectNode hub() {
        ObjectNode c = common().put("n_routed_experts", 256).put("rope_theta", 10000.0)
                .put("scoring_func", "sigmoid").put("topk_method", "noaux_tc").put("moe_layer_freq", 1);
        c.putObject("rope_scaling").put("type", "yarn").put("factor", 40).put("beta_fast", 32).put("beta_slow", 1)
                .put("mscale", 1.0).put("mscale_all_dim", 1.0).put("original_max_position_embeddings", 4096);
        return c;
    }

    private static ObjectNode transformers5() {
        ObjectNode c = common().put("num_local_experts", 256);
        c.putObject("rope_parameters").put("rope_type", "yarn").put("rope_theta", 10000.0).put("factor", 40)
                .put("beta_fast", 32).put("beta_slow", 1).put("mscale", 1.0).put("mscale_all_dim", 1.0)
                .put("original_max_position_embeddings", 4096);
        return c;
    }

    @Test
    void bothSpellingsGiveTheSameParts() {
        for (ObjectNode json : new ObjectNode[]{hub(), transformers5()}) {
            ModelConfig c = ModelConfigLoader.parse(json, null);
            assertEquals(256, c.numExperts);
            assertArrayEquals(new int[]{3}, c.moeLayerIndices, "first_k_dense_replace 3 of 4 layers");
            assertEquals(2048, c.sharedExpertIntermediateSize, "one shared expert of moe_intermediate_size");
            assertEquals(new MlaAttention(128, 1536, 512, 128, 64, 128, true), c.attention);
            assertEquals(new SigmoidGroupLimited(256, 8, 8, 4, true, 2.5f), c.router);
            assertEquals(Rope.YARN, c.rope.type());
            assertEquals(64, c.rope.dim(), "rotary width = qk_rope_head_dim");
            assertEquals(40, c.rope.factor());
        }
    }

    @Test
    void withoutQLoraRankQueriesAreProjectedDirectly() {
        ObjectNode json = hub();
        json.putNull("q_lora_rank");
        assertEquals(0, ((MlaAttention) ModelConfigLoader.parse(json, null).attention).qLoraRank());
    }

    @Test
    void refusesRoutingItDoesNotImplement() {
        ObjectNode softmax = hub().put("scoring_func", "softmax");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfigLoader.parse(softmax, null))
                .getMessage().contains("scoring_func 'softmax'"));
        ObjectNode groups = hub().put("n_group", 7);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelConfigLoader.parse(groups, null))
                .getMessage().contains("n_group (7)"));
    }
}
