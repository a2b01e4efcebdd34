package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClassSplitDenseTest {
    @Test
    void offUnlessGivenAPositiveRowCount() {
        assertEquals(0, ClassSplitDense.fromRows(null));
        assertEquals(0, ClassSplitDense.fromRows(" "));
        assertEquals(0, ClassSplitDense.fromRows("OFF"));
        assertEquals(64, ClassSplitDense.fromRows(" 64 "));
        assertEquals(1, ClassSplitDense.fromRows("1"));
        for (String bad : new String[] {"0", "-3", "on", "64 rows"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ClassSplitDense.fromRows(bad));
            assertTrue(e.getMessage().contains("routingreplay.cuda.classSplitDense=" + bad), e.getMessage());
        }
    }

    @Test
    void foldsInAWorkspaceUnlessToldCluster() {
        assertEquals(ClassSplitDense.Fold.WORKSPACE, ClassSplitDense.fold(null));
        assertEquals(ClassSplitDense.Fold.WORKSPACE, ClassSplitDense.fold("workspace"));
        assertEquals(ClassSplitDense.Fold.CLUSTER, ClassSplitDense.fold(" Cluster "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClassSplitDense.fold("dsmem"));
        assertTrue(e.getMessage().contains("routingreplay.cuda.classSplitFold=dsmem"), e.getMessage());
        assertEquals("gemm_classes_cluster_residual_t4x2x4", ClassSplitDense.clusterEntry(TiledGemm.CLASSES, true));
        assertEquals("gemm_classes_cluster_store_t2x4x1", ClassSplitDense.clusterEntry(TiledGemm.CLASSES_32, false));
    }

    /** Every class-split entry above the default 48 KB is allowed its dynamic shared memory; nothing else is. */
    @Test
    void onlyTheLargeClassSplitEntriesAskForMoreSharedMemory() {
        assertEquals(72 * 1024, ClassSplitDense.dynamicSharedBytes("gemm_classes_t4x2x4"));
        assertEquals(136 * 1024, ClassSplitDense.dynamicSharedBytes("gemm_classes_cluster_residual_t4x2x4"));
        assertEquals(136 * 1024, ClassSplitDense.dynamicSharedBytes("gemm_classes_cluster_store_t2x4x1"));
        assertEquals(0, ClassSplitDense.dynamicSharedBytes("gemm_classes_t2x4x1")); // 48 KB
        assertEquals(0, ClassSplitDense.dynamicSharedBytes("gemm_store_t2x4x1"));
    }

    /** qwen3-moe-tiny (config.json): hidden 32, 4 query heads and 2 K/V heads of 16, so QKV has (4 + 2 × 2) × 16 =
     *  128 outputs, the widest product; 8 classes × 255 rows × 128 floats. */
    @Test
    void theWorkspaceHoldsEightClassesOfTheWidestProduct() {
        ModelConfig c = ModelConfigLoader.load(Fixtures.model("qwen3-moe-tiny"));
        assertEquals(128, ClassSplitDense.maxOutputs(c));
        assertEquals(4L * 8 * 255 * 128, ClassSplitDense.workspaceBytes(c, 256));
    }

    /** The products it serves are QKV, O and the hidden-wide downs: Qwen3-30B-A3B's QKV (32 + 2 × 4) × 128 = 5,120;
     *  an MLA model has no fused QKV, so the hidden size (DeepSeek-V2-Lite 2,048: its q / kv_b projections, 3,072 and
     *  4,096 wide, keep their kernels); lm_head never fits. */
    @Test
    void servesQkvAndHiddenWideProductsOnly() throws IOException {
        ModelConfig qwen = MlaLayoutTest.example("qwen3-30b-a3b-config.json");
        assertEquals(5120, ClassSplitDense.maxOutputs(qwen));
        assertTrue(qwen.vocabSize > ClassSplitDense.maxOutputs(qwen));
        ModelConfig lite = MlaLayoutTest.example("deepseek-v2-lite-config.json");
        assertEquals(lite.hiddenSize, ClassSplitDense.maxOutputs(lite));
        assertEquals(2048, lite.hiddenSize);
    }

    /** The workspace exists only when the switch is on with the workspace fold: the K/V cache is sized without it. */
    @Test
    void theConfiguredWorkspaceFollowsTheSwitches() {
        ModelConfig c = ModelConfigLoader.load(Fixtures.model("qwen3-moe-tiny"));
        try {
            assertEquals(0L, ClassSplitDense.configuredWorkspaceBytes(c, 256));
            System.setProperty(ClassSplitDense.PROPERTY, "33");
            assertEquals(ClassSplitDense.workspaceBytes(c, 256), ClassSplitDense.configuredWorkspaceBytes(c, 256));
            System.setProperty(ClassSplitDense.FOLD_PROPERTY, "cluster");
            assertEquals(0L, ClassSplitDense.configuredWorkspaceBytes(c, 256));
        } finally {
            System.clearProperty(ClassSplitDense.PROPERTY);
            System.clearProperty(ClassSplitDense.FOLD_PROPERTY);
        }
    }
}
