package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where ForwardPass launches the lean staged attention (kernels/attention_staged_lean.cuh: head_dim 128, exactly 8
 * query heads per K/V head; it traps on any other head count and reads 128 dims a row whatever the head size), the
 * entries it names and the shared memory its launch asks for. Runs without a GPU.
 */
class LeanAttentionTest {

    /** Qwen3-30B-A3B's shape (32 / 4 heads, D 128) and any other 8-per-K/V-head D 128 shape, every cache dtype. */
    @Test
    void headDim128WithEightQueryHeadsPerKvHeadRunsTheLeanEntry() throws IOException {
        assertEquals("attention_staged_lean_d128g8", ForwardPass.leanAttentionEntry(128, 32, 4, ""));
        assertEquals("attention_staged_lean_d128g8_bf16", ForwardPass.leanAttentionEntry(128, 32, 4, "_bf16"));
        assertEquals("attention_staged_lean_d128g8_fp8", ForwardPass.leanAttentionEntry(128, 32, 4, "_fp8"));
        assertEquals("attention_staged_lean_d128g8_bf16", ForwardPass.leanAttentionEntry(128, 8, 1, "_bf16"));
        ModelConfig qwen = MlaLayoutTest.example("qwen3-30b-a3b-config.json");
        assertEquals("attention_staged_lean_d128g8_bf16",
                ForwardPass.leanAttentionEntry(qwen.headDim, qwen.numHeads, qwen.numKvHeads, "_bf16"));
    }

    /** Every other shape keeps the staged entries: other head counts per K/V head (GLM-4.5's 12, 4, 16, a head
     *  count that is not a multiple of the K/V heads) and other head sizes. */
    @Test
    void everyOtherShapeKeepsTheStagedEntries() throws IOException {
        for (String kv : List.of("", "_bf16", "_fp8")) {
            assertNull(ForwardPass.leanAttentionEntry(128, 96, 8, kv), "12 per K/V head" + kv);
            assertNull(ForwardPass.leanAttentionEntry(128, 16, 4, kv), "4 per K/V head" + kv);
            assertNull(ForwardPass.leanAttentionEntry(128, 64, 4, kv), "16 per K/V head" + kv);
            assertNull(ForwardPass.leanAttentionEntry(128, 33, 4, kv), "33 heads over 4" + kv);
            assertNull(ForwardPass.leanAttentionEntry(128, 4, 4, kv), "1 per K/V head" + kv);
            assertNull(ForwardPass.leanAttentionEntry(64, 32, 4, kv), "head_dim 64" + kv);
            assertNull(ForwardPass.leanAttentionEntry(16, 16, 2, kv), "head_dim 16" + kv);
            assertNull(ForwardPass.leanAttentionEntry(256, 32, 4, kv), "head_dim 256" + kv);
        }
        ModelConfig glm = MlaLayoutTest.example("glm-4.5-air-config.json"); // 96 / 8 heads, D 128
        assertNull(ForwardPass.leanAttentionEntry(glm.headDim, glm.numHeads, glm.numKvHeads, "_bf16"));
        for (String fixture : List.of("qwen3-moe-tiny", "mixtral-tiny", "olmoe-tiny", "qwen3-moe-mixed-tiny",
                "glm4-moe-tiny", "qwen2-moe-tiny")) {
            ModelConfig c = ModelConfigLoader.load(Fixtures.model(fixture));
            assertNull(ForwardPass.leanAttentionEntry(c.headDim, c.numHeads, c.numKvHeads, ""), fixture);
        }
    }

    /** On unless -Droutingreplay.cuda.leanAttention=off (the A/B against the staged entry). */
    @Test
    void onUnlessSwitchedOff() {
        assertTrue(ForwardPass.isLeanAttention(null));
        assertTrue(ForwardPass.isLeanAttention("on"));
        assertFalse(ForwardPass.isLeanAttention("off"));
        assertEquals("routingreplay.cuda.leanAttention", ForwardPass.LEAN_ATTENTION_PROPERTY);
    }

    /** The host's ring size is the kernel's (SATT_LEAN_STAGES stages of SATT_STAGE_FLOATS floats): a smaller launch
     *  would put the ring's last stage past the block's shared memory. */
    @Test
    void theLaunchAsksForTheKernelsRing() throws IOException {
        int stages = KernelSources.define("kernels/attention_staged_lean.cuh", "SATT_LEAN_STAGES");
        int floats = KernelSources.define("kernels/attention_staged.cuh", "SATT_STAGE_FLOATS");
        assertEquals(stages * floats * 4, ForwardPass.LEAN_RING_BYTES);
    }

    /** The entries ForwardPass names are in the PTX, and each one's static shared arrays plus the ring stay within
     *  the 48 KB a launch may ask for without the opt-in attribute (CudaDevice sets none for them). */
    @Test
    void theLeanEntriesAreCompiledAndFitWithoutTheSharedMemoryOptIn() throws IOException {
        String ptx = KernelSources.ptx();
        for (String kv : List.of("", "_bf16", "_fp8")) {
            String name = ForwardPass.leanAttentionEntry(128, 32, 4, kv);
            int at = ptx.indexOf(".entry " + name + "(");
            assertTrue(at >= 0, name);
            int end = ptx.indexOf("\n}\n", at);
            Matcher m = Pattern.compile("\\.shared \\.align \\d+ \\.b8 \\S+\\[(\\d+)\\];").matcher(ptx.substring(at, end));
            int staticBytes = 0;
            while (m.find()) {
                staticBytes += Integer.parseInt(m.group(1));
            }
            assertTrue(staticBytes > 12 * 1024, name + ": static shared arrays not found (" + staticBytes + " bytes)");
            assertTrue(staticBytes + ForwardPass.LEAN_RING_BYTES <= 48 * 1024,
                    name + ": " + staticBytes + " + " + ForwardPass.LEAN_RING_BYTES + " bytes of shared memory");
        }
    }
}
