package io.routingreplay.runtime.model.glm4moe;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.router.SigmoidGroupLimited;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** glm4_moe's config.json as the Hub serves it (GLM-4.5-Air shape, 4 layers) and as transformers 5 writes it. */
class Glm4MoeTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode common() {
        return JSON.createObjectNode().put("model_type", "glm4_moe").put("vocab_size", 151552)
                .put("hidden_size", 4096).put("num_hidden_layers", 4).put("num_attention_heads", 96)
                .put("num_key_value_heads", 8).put("head_dim", 128).put("intermediate_size", 10944)
                .put("moe_intermediate_size", 1408).put("n_shared_experts", 1).put("num_experts_per_tok", 8)
                .put("n_group", 1).put("topk_group", 1).put("first_k_dense_replace", 1)
                .put("norm_topk_prob", true).put("routed_scaling_factor", 1.0).put("attention_bias", true)
                .put("use_qk_norm", false).put("max_position_embeddings", 131072);
    }

    private static ObjectNode hub() {
        return common().put("n_routed_experts", 128).put("rope_theta", 1000000.0).put("partial_rotary_factor", 0.5)
                .putNull("rope_scaling");
    }

    private static ObjectNode transformers5() {
        ObjectNode c = common().put("num_local_experts", 128);
        c.putObject("rope_parameters").put("rope_type", "default").put("rope_theta", 1000000.0)
                .put("partial_rotary_factor", 0.5);
        return c;
    }

    @Test
    void bothSpellingsGiveTheSameParts() {
        for (ObjectNode json : new ObjectNode[]{hub(), transformers5()}) {
            ModelConfig c = ModelConfigLoader.parse(json, null);
            assertEquals(128, c.numExperts);
            assertArrayEquals(new int[]{1, 2, 3}, c.moeLayerIndices, "first_k_dense_replace 1 of 4 layers");
            assertEquals(1408, c.sharedExpertIntermediateSize, "one shared expert of moe_intermediate_size");
            assertEquals(false, c.sharedExpertGated);
            assertEquals(new GqaAttention(96, 8, 128, QkNorm.NONE, true, 64), c.attention,
                    "head_dim 128 (not 4096 / 96), q/k/v bias, rotary on half of each head");
            assertEquals(new SigmoidGroupLimited(128, 8, 1, 1, true, 1f), c.router);
            assertEquals(64, c.rope.dim(), "the RoPE table covers the rotary width only");
            assertEquals(1e6, c.rope.theta());
        }
    }

    @Test
    void partialRotaryFactorInEitherPlaceDefaultingToHalfAsTransformers() {
        ObjectNode absent = hub();
        absent.remove("partial_rotary_factor");
        assertEquals(64, ((GqaAttention) ModelConfigLoader.parse(absent, null).attention).rotaryDim());
        ObjectNode t5 = transformers5();
        ((ObjectNode) t5.get("rope_parameters")).put("partial_rotary_factor", 0.25);
        for (ObjectNode json : new ObjectNode[]{hub().put("partial_rotary_factor", 0.25), t5}) {
            ModelConfig quarter = ModelConfigLoader.parse(json, null);
            assertEquals(32, ((GqaAttention) quarter.attention).rotaryDim());
            assertEquals(32, quarter.rope.dim());
        }
    }

    @Test
    void qkNormAndDenseLayersFollowTheConfig() {
        ModelConfig c = ModelConfigLoader.parse(hub().put("use_qk_norm", true).put("first_k_dense_replace", 3), null);
        assertEquals(QkNorm.PER_HEAD, c.qkNorm);
        assertArrayEquals(new int[]{3}, c.moeLayerIndices);
    }

    @Test
    void refusesARotaryWidthItCannotRotate() {
        String msg = assertThrows(IllegalArgumentException.class, () -> ModelConfigLoader.parse(
                hub().put("partial_rotary_factor", 0.15), null)).getMessage();
        assertTrue(msg.contains("rotary width 19") && msg.contains("head_dim 128"), msg);
    }

    @Test
    void theGlm45AirExampleReadsAsGlm45Air() throws IOException {
        ModelConfig c = ModelConfigLoader.parse(JSON.readTree(
                Fixtures.root().resolveSibling("examples").resolve("glm-4.5-air-config.json").toFile()), null);
        assertEquals(new GqaAttention(96, 8, 128, QkNorm.NONE, true, 64), c.attention);
        assertEquals(new SigmoidGroupLimited(128, 8, 1, 1, true, 1f), c.router);
        assertEquals(12, c.numMoeLayers(), "13 layers, the first dense");
        assertEquals(1408, c.sharedExpertIntermediateSize);
    }
}
