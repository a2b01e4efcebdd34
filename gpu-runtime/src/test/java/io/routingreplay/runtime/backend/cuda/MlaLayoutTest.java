package io.routingreplay.runtime.backend.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.model.attention.MlaAttention;
import io.routingreplay.runtime.model.attention.MlaWeights;
import io.routingreplay.runtime.testing.Fixtures;
import io.routingreplay.runtime.weights.Dtype;
import io.routingreplay.runtime.weights.WeightStore;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The host side of MLA on the CUDA backend: padded head widths, cache widths, o_proj's padded layout (no GPU). */
class MlaLayoutTest {

    private static ModelConfig config(String fixture) {
        return ModelConfigLoader.load(Fixtures.model(fixture));
    }

    @Test
    void headsArePaddedToTheWiderOfKeyAndValueRoundedToEight() throws IOException {
        // qk 16 + 8 = 24, v 16; qk 16 + 16 = 32, v 24; qk 8 + 8 = 16, v 12
        assertEquals(24, MlaLayout.headDim((MlaAttention) config("deepseek-v3-tiny").attention));
        assertEquals(32, MlaLayout.headDim((MlaAttention) config("deepseek-v2-tiny").attention));
        assertEquals(16, MlaLayout.headDim((MlaAttention) config("deepseek-v2-greedy-tiny").attention));
        // DeepSeek-V2-Lite / V3 / Moonlight: qk 128 + 64 = 192, v 128
        ModelConfig lite = example("deepseek-v2-lite-config.json");
        assertEquals(192, MlaLayout.headDim((MlaAttention) lite.attention));
        assertEquals(16 * 192, MlaLayout.cacheWidth(lite));
        // a value head wider than the key's: the value decides
        assertEquals(40, MlaLayout.headDim(new MlaAttention(4, 0, 16, 16, 8, 33, true)));
    }

    /** An examples/ config (the --synthetic-config files of `run bench`). */
    static ModelConfig example(String file) throws IOException {
        Path p = Fixtures.root().getParent().resolve("examples").resolve(file);
        return ModelConfigLoader.parse(new ObjectMapper().readTree(p.toFile()), null);
    }

    @Test
    void theStagedAttentionRunsEveryPaddedWidthItHasAnEntryFor() throws IOException {
        // the real shapes: d 192 (qk 128 + 64), v 128 read without the padded tail
        MlaAttention lite = (MlaAttention) example("deepseek-v2-lite-config.json").attention;
        assertEquals("attention_staged_d192v128", MlaLayout.stagedAttention(lite, ""));
        assertEquals("attention_staged_d192v128_bf16", MlaLayout.stagedAttention(lite, "_bf16"));
        assertEquals("attention_staged_d192v128_fp8",
                MlaLayout.stagedAttention((MlaAttention) example("moonlight-16b-a3b-config.json").attention, "_fp8"));
        // the fixtures: GQA staged widths 32 and 16 (whole rows), 24 has no staged kernel
        assertEquals("attention_staged_d32_bf16",
                MlaLayout.stagedAttention((MlaAttention) config("deepseek-v2-tiny").attention, "_bf16"));
        assertEquals("attention_staged_d16",
                MlaLayout.stagedAttention((MlaAttention) config("deepseek-v2-greedy-tiny").attention, ""));
        assertNull(MlaLayout.stagedAttention((MlaAttention) config("deepseek-v3-tiny").attention, ""));
        // d 192 with another value width: no entry, the block kernel
        assertNull(MlaLayout.stagedAttention(new MlaAttention(16, 0, 512, 128, 64, 96, true), ""));
    }

    /** Every attention_staged_d{d}v{v} entry of kernels/attention_staged_mla.cuh is one MlaLayout picks, and every
     *  one it picks is there, in all three cache types (a name the module lacks fails the launch on the GPU only). */
    @Test
    void mlaStagedWidthsAreTheKernelsEntries() throws IOException {
        String src = Files.readString(Fixtures.root().getParent()
                .resolve("gpu-runtime/src/main/cuda/kernels/attention_staged_mla.cuh"));
        Matcher m = Pattern.compile("^SATT_KERNEL_MLA\\((\\w+), (\\d+), (\\d+), (\\w+)(?:, \\d+)?\\)", Pattern.MULTILINE)
                .matcher(src);
        Set<String> entries = new HashSet<>();
        while (m.find()) {
            String suffix = m.group(4).equals("float") ? "" : "_" + m.group(4);
            assertEquals("attention_staged_d" + m.group(2) + "v" + m.group(3) + suffix, m.group(1));
            entries.add(m.group(1));
        }
        Set<String> picked = new HashSet<>();
        for (int[] dv : MlaLayout.STAGED_MLA_WIDTHS) {
            // qk = d (nope d - 64, rope 64), v: the widths the entry is for
            MlaAttention a = new MlaAttention(16, 0, 512, dv[0] - 64, 64, dv[1], true);
            assertEquals(dv[0], MlaLayout.headDim(a));
            for (String suffix : new String[]{"", "_bf16", "_fp8"}) {
                picked.add(MlaLayout.stagedAttention(a, suffix));
            }
        }
        assertEquals(entries, picked);
    }

    @Test
    void gqaCachesKeepTheirKvDim() {
        ModelConfig c = config("qwen3-moe-tiny");
        assertEquals(c.kvDim(), MlaLayout.cacheWidth(c));
        assertEquals(0, MlaAttentionStep.workspaceBytes(c, 512));
    }

    @Test
    void oProjGetsZeroColumnsAfterEachHeadsValues() {
        ModelConfig c = config("deepseek-v3-tiny");
        MlaAttention a = (MlaAttention) c.attention;
        MlaWeights w = (MlaWeights) ModelWeights.load(c, WeightStore.open(Fixtures.model("deepseek-v3-tiny")))
                .layers[1].attention;
        float[] wo = w.wo.toFloatArray();
        short[] bits = MlaLayerWeights.bf16Bits(w.wo);
        int rows = c.hiddenSize, heads = a.numHeads(), vd = a.vHeadDim(), d = MlaLayout.headDim(a);
        for (int i = 0; i < wo.length; i++) {
            assertEquals(Dtype.floatToBf16(wo[i]), bits[i]);        // the checkpoint's bf16 values as they are
        }
        short[] padded = MlaLayout.padHeadColumns(bits, rows, heads, vd, d);
        assertEquals(rows * heads * d, padded.length);
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                for (int j = 0; j < d; j++) {
                    short want = j < vd ? bits[r * heads * vd + h * vd + j] : 0;
                    assertEquals(want, padded[r * heads * d + h * d + j], "row " + r + " head " + h + " col " + j);
                }
            }
        }
    }

    /** MlaAttentionStep rotates with the table CudaModelRunner uploads: the CPU's YaRN frequencies over
     *  qk_rope_head_dim, in the workspace's head_dim / 2 slots, and cos / sin scaled by the attention factor. */
    @Test
    void yarnTableAndAttentionFactorAreTheCpus() {
        ModelConfig c = config("deepseek-v2-greedy-tiny");
        MlaAttention a = (MlaAttention) c.attention;
        float[] cuda = io.routingreplay.runtime.model.Rope.inverseFrequencies(c);
        assertArrayEquals(c.rope.inverseFrequencies(), cuda);
        assertEquals(a.qkRopeHeadDim() / 2, cuda.length);
        assertEquals(c.headDim / 2, cuda.length);                // Workspace.invFreq's size
        // mscale 1 vs mscale_all_dim 0.707 at factor 8: the factor mla_rope_kv multiplies cos / sin by
        double f = (0.1 * Math.log(8) + 1) / (0.1 * 0.707 * Math.log(8) + 1);
        assertEquals(f, c.rope.attentionFactor(), 1e-12);
        assertEquals(0, ForwardPass.extendedQkvRotaryDim(c));   // no GQA rope kernel for MLA
    }

    @Test
    void paddingRefusesAMatrixOfAnotherShape() {
        assertThrows(IllegalArgumentException.class, () -> MlaLayout.padHeadColumns(new short[10], 2, 2, 3, 8));
        assertThrows(IllegalArgumentException.class, () -> MlaLayout.padHeadColumns(new short[12], 2, 2, 3, 2));
    }
}
