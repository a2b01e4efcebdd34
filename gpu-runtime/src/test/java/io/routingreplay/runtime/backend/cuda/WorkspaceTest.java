package io.routingreplay.runtime.backend.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The attention buffers' sizes in the workspace (no GPU): the GQA heads as before, MLA's padded heads where MLA
 * runs (not its nominal GQA width), and nothing of MLA's counted twice between {@link Workspace#bytes} and
 * {@link MlaAttentionStep#workspaceBytes} (the K/V cache gets what both leave).
 */
class WorkspaceTest {

    @Test
    void gqaAttentionBuffersAreTheGqaHeads() {
        ModelConfig c = ModelConfigLoader.load(Fixtures.model("qwen3-moe-tiny"));
        assertEquals(c.qDim() + 2L * c.kvDim(), Workspace.qkvFloats(c));
        assertEquals(c.qDim(), Workspace.attentionRowFloats(c));
        assertEquals((long) c.numHeads * Workspace.ATT_SPLITS * (c.headDim + 2), Workspace.attentionPartFloats(c));
    }

    /** DeepSeek-V2-Lite: 16 heads padded to 192 (MlaLayout), not the nominal GQA width (16 × qk_rope_head_dim 64). */
    @Test
    void mlaAttentionBuffersAreThePaddedHeadsMlaRuns() throws IOException {
        ModelConfig c = lite(128);
        assertEquals(16 * 64, c.qDim());                           // the nominal width the buffers had
        assertEquals(0, Workspace.qkvFloats(c));                   // MlaAttentionStep's products, not a QKV one
        assertEquals(16 * 192, Workspace.attentionRowFloats(c));
        assertEquals(16L * 16 * (192 + 2), Workspace.attentionPartFloats(c));
        // MlaAttentionStep counts only its own products: q (16 × 192), the latent and its split rows (2 × 512),
        // k_rope (64), kv_b's [k_nope | v] (16 × 256) — the q, partials and output rows are the workspace's
        assertEquals(4L * 100 * (16 * 192 + 2 * 512 + 64 + 16 * 256), MlaAttentionStep.workspaceBytes(c, 100));
    }

    /** Workspace.bytes follows the padded width: v_head_dim 256 (d 256 instead of 192) changes nothing else. */
    @Test
    void workspaceBytesCountTheMlaWidths() throws IOException {
        long narrow = Workspace.bytes(lite(128), 100, 8, 4), wide = Workspace.bytes(lite(256), 100, 8, 4);
        // q and output rows: 16 heads × 64 more floats each; partials: 16 heads × 16 splits × 64 more
        assertEquals(4L * 100 * (2 * 16 * 64 + 16 * 16 * 64), wide - narrow);
    }

    /** examples/deepseek-v2-lite-config.json with v_head_dim {@code v}. */
    private static ModelConfig lite(int v) throws IOException {
        Path p = Fixtures.root().getParent().resolve("examples").resolve("deepseek-v2-lite-config.json");
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(p.toFile());
        json.put("v_head_dim", v);
        return ModelConfigLoader.parse(json, null);
    }
}
