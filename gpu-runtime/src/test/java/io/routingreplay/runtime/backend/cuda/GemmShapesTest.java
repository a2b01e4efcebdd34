package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The host's launch shapes of the shared-memory GEMMs ({@link PersistentGemm}, {@link TiledGemm}) against the
 * kernels' template arguments in the CUDA sources: a dynamic shared-memory size or a block shape that disagrees with
 * the kernel would read or write past its ring, which no CPU test would notice. Runs without a GPU.
 */
class GemmShapesTest {
    private static final Pattern TG = Pattern.compile(
            "^TG_VARIANT\\((\\w+), (\\d+), (\\d+), (\\d+), (\\d+), (\\d+), (\\d+),", Pattern.MULTILINE);
    private static final Pattern TG_CLASSES = Pattern.compile(
            "^TG_CLASSES_VARIANT\\((\\w+), (\\d+), (\\d+), (\\d+), (\\d+), (\\d+)\\)", Pattern.MULTILINE);
    private static final Pattern TG_CLUSTER = Pattern.compile(
            "^TG_CLUSTER_VARIANT\\((\\w+), (\\d+), (\\d+), (\\d+), (\\d+), (\\d+)\\)", Pattern.MULTILINE);
    private static final Pattern SK = Pattern.compile(
            "^SK_VARIANT\\((\\w+), (\\d+), (\\d+), (\\d+), (\\d+), \\w+, \\w+(?:, (\\d+))?(?:, (\\d+))?\\)", Pattern.MULTILINE);

    private static String source(String file) throws IOException {
        return Files.readString(Fixtures.root().getParent().resolve(Path.of("gpu-runtime/src/main/cuda", file)));
    }

    /** name -> integer arguments of the variants that {@code p} finds in {@code file}. */
    private static Map<String, int[]> variants(String file, Pattern p) throws IOException {
        Map<String, int[]> out = new HashMap<>();
        Matcher m = p.matcher(source(file));
        while (m.find()) {
            int[] a = new int[m.groupCount() - 1];
            for (int i = 0; i < a.length; i++) {
                String g = m.group(i + 2);
                a[i] = g == null ? -1 : Integer.parseInt(g);
            }
            out.put(m.group(1), a);
        }
        return out;
    }

    @Test
    void tiledShapesMatchTheirKernels() throws IOException {
        Map<String, int[]> k = variants("gemm_tiled.cuh", TG);
        for (TiledGemm g : List.of(TiledGemm.STORE, TiledGemm.RESIDUAL, TiledGemm.SWIGLU)) {
            int[] a = k.get(g.name()); // mode, MF, NWR, NWT, STAGES, min blocks
            assertNotNull(a, g.name() + " is not a TG_VARIANT of gemm_tiled.cuh");
            assertEquals(16 * a[1] * a[2], g.rows(), g.name() + " rows");
            assertEquals(32 * a[3], g.tokens(), g.name() + " tokens");
            assertEquals(32 * a[2] * a[3], g.threads(), g.name() + " threads");
            assertEquals(a[4], g.stages(), g.name() + " stages");
            assertEquals(a[0] == 2 ? 2 : 1, g.mats(), g.name() + " matrices");
            // the kernel's STAGE_BYTES: NMAT × BR × 64 + BT × 128, times STAGES
            assertEquals(a[4] * ((a[0] == 2 ? 2 : 1) * 16 * a[1] * a[2] * 64 + 32 * a[3] * 128), g.sharedBytes());
            assertTrue(TiledGemm.isTiled(g.name()));
        }
        // the expert gate/up pair and the down product walk the same tile list
        assertEquals(TiledGemm.SWIGLU.tokens(), TiledGemm.STORE.tokens());
    }

    @Test
    void theClassSplitShapesMatchTheirKernels() throws IOException {
        Map<String, int[]> k = variants("gemm_tiled.cuh", TG_CLASSES);
        for (TiledGemm g : List.of(TiledGemm.CLASSES, TiledGemm.CLASSES_32)) {
            int[] a = k.get(g.name()); // MF, NWR, NWT, STAGES, min blocks
            assertNotNull(a, g.name() + " is not a TG_CLASSES_VARIANT of gemm_tiled.cuh");
            assertEquals(16 * a[0] * a[1], g.rows(), g.name() + " rows");
            assertEquals(32 * a[2], g.tokens(), g.name() + " tokens");
            assertEquals(32 * a[1] * a[2], g.threads(), g.name() + " threads");
            assertEquals(a[3], g.stages(), g.name() + " stages");
            assertEquals(1, g.mats());
            assertEquals(a[3] * (16 * a[0] * a[1] * 64 + 32 * a[2] * 128), g.sharedBytes());
            assertTrue(TiledGemm.isTiled(g.name()));
        }
        assertEquals(KernelSources.define("kernels/gemm.cuh", "GEMM_WARPS"), ClassSplitDense.CLASSES);
        // the cluster forms: the same shape, the mode their name says, the ring and the tile's sums
        Map<String, int[]> cl = variants("gemm_tiled.cuh", TG_CLUSTER);
        int most = 0;
        for (TiledGemm g : List.of(TiledGemm.CLASSES, TiledGemm.CLASSES_32)) {
            for (boolean residual : new boolean[] {false, true}) {
                String name = ClassSplitDense.clusterEntry(g, residual);
                int[] a = cl.get(name); // MODE, MF, NWR, NWT, STAGES
                assertNotNull(a, name + " is not a TG_CLUSTER_VARIANT of gemm_tiled.cuh");
                assertTrue(ClassSplitDense.isCluster(name));
                assertEquals(residual ? 1 : 0, a[0], name + " mode");
                assertEquals(16 * a[1] * a[2], g.rows(), name + " rows");
                assertEquals(32 * a[3], g.tokens(), name + " tokens");
                assertEquals(32 * a[2] * a[3], g.threads(), name + " threads");
                assertEquals(a[4], g.stages(), name + " stages");
                int bytes = a[4] * (16 * a[1] * a[2] * 64 + 32 * a[3] * 128) + 4 * 16 * a[1] * a[2] * 32 * a[3];
                assertEquals(bytes, ClassSplitDense.clusterSharedBytes(g), name + " shared memory");
                most = Math.max(most, bytes);
            }
        }
        assertEquals(most, ClassSplitDense.MAX_CLUSTER_SHARED_BYTES);
    }

    @Test
    void persistentShapesMatchTheirKernels() throws IOException {
        Map<String, int[]> k = variants("gemm_staged.cuh", SK);
        for (PersistentGemm g : List.of(PersistentGemm.GATE_UP, PersistentGemm.STORE, PersistentGemm.STORE_24,
                PersistentGemm.GATE_UP_24)) {
            int[] a = k.get(g.name()); // mode, RG, SUB, STAGES, [PREFETCH], [JPASS]
            assertNotNull(a, g.name() + " is not an SK_VARIANT of gemm_staged.cuh");
            assertEquals(16 * a[1], g.rows(), g.name() + " rows");
            assertEquals(a[2], g.sub(), g.name() + " token groups");
            assertEquals(a[3], PersistentGemm.STAGES, g.name() + " stages");
            assertEquals(a[0] == 2 ? 2 : 1, g.mats(), g.name() + " matrices");
            assertEquals(a[5] < 0 ? a[2] : a[5], g.pass(), g.name() + " token groups per reduction pass");
            assertTrue(g.sharedBytes() <= PersistentGemm.MAX_SHARED_BYTES, g.name() + " shared memory");
            assertTrue(PersistentGemm.isPersistent(g.name()));
        }
    }
}
