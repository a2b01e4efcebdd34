package io.routingreplay.runtime.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.runtime.model.attention.MlaAttention;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * YaRN as DeepSeek-V3 configures it (theta 1e4, rotary width 64, factor 40, 4,096 original positions, mscale =
 * mscale_all_dim = 1). Expected values from transformers' {@code _compute_yarn_parameters} redone in numpy float32:
 * correction range [10, 23], frequencies below 10 kept, above 23 divided by 40, blended in between.
 */
class RopeTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode hubSpelling() {
        ObjectNode c = JSON.createObjectNode().put("rope_theta", 10000.0).put("max_position_embeddings", 163840);
        c.putObject("rope_scaling").put("type", "yarn").put("factor", 40).put("beta_fast", 32).put("beta_slow", 1)
                .put("mscale", 1.0).put("mscale_all_dim", 1.0).put("original_max_position_embeddings", 4096);
        return c;
    }

    private static ObjectNode transformers5Spelling() {
        ObjectNode c = JSON.createObjectNode().put("max_position_embeddings", 163840);
        c.putObject("rope_parameters").put("rope_type", "yarn").put("rope_theta", 10000.0).put("factor", 40)
                .put("beta_fast", 32).put("beta_slow", 1).put("mscale", 1.0).put("mscale_all_dim", 1.0)
                .put("original_max_position_embeddings", 4096);
        return c;
    }

    @Test
    void yarnFrequenciesAndDeepSeekSoftmaxScaleInBothSpellings() {
        for (ObjectNode c : new ObjectNode[]{hubSpelling(), transformers5Spelling()}) {
            Rope rope = Rope.read(c, 64, 163840, Set.of(Rope.DEFAULT, Rope.YARN));
            float[] f = rope.inverseFrequencies();
            assertEquals(32, f.length);
            double[][] expected = {{0, 1.0}, {5, 0.23713739216327667}, {10, 0.05623412877321243},
                    {11, 0.039006926119327545}, {20, 0.0007905694073997438}, {25, 1.8747354260995053e-05},
                    {31, 3.3338035336782923e-06}};
            for (double[] e : expected) {
                assertEquals(e[1], f[(int) e[0]], e[1] * 1e-6, "inv_freq[" + (int) e[0] + "]");
            }
            assertEquals(1.0, rope.attentionFactor(), 1e-12, "mscale / mscale_all_dim");
            MlaAttention mla = new MlaAttention(128, 1536, 512, 128, 64, 128, true);
            assertEquals(0.1352337788608801, mla.softmaxScale(rope), 1e-12, "192^-0.5 * (0.1 ln 40 + 1)^2");
        }
    }

    @Test
    void defaultRopeIsThetaPowers() {
        ObjectNode c = JSON.createObjectNode().put("rope_theta", 10000.0);
        Rope rope = Rope.read(c, 8, 4096, Set.of(Rope.DEFAULT));
        float[] f = rope.inverseFrequencies();
        assertEquals(1.0f, f[0]);
        assertEquals(0.1f, f[1], 1e-7);
        assertEquals(0.001f, f[3], 1e-9);
        assertEquals(1.0, rope.attentionFactor());
        assertEquals(Math.pow(24, -0.5), new MlaAttention(4, 0, 16, 16, 8, 16, true).softmaxScale(rope), 1e-15);
    }

    @Test
    void refusesRopeTypesTheArchitectureDoesNotImplement() {
        String msg = assertThrows(IllegalArgumentException.class,
                () -> Rope.read(hubSpelling(), 64, 163840, Set.of(Rope.DEFAULT))).getMessage();
        assertTrue(msg.contains("unsupported rope_type 'yarn'"), msg);
    }
}
