package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.attention.MlaAttention;

import java.util.Locale;

/**
 * Dense products split by class (gemm_tiled.cuh {@code gemm_classes_*}, issue 14): between a few rows and the tiled
 * kernels' {@code TILED_FROM_ROWS} the tiled kernel has too few output tiles to fill the GPU and the K-split ones
 * re-read every weight row per 16–24 tokens (ncu at 128 rows: O 0.44 TB/s, QKV 0.60 TB/s). Here grid z splits the
 * tiled kernel's walk into its 8 classes; each block stores its class's sums in a workspace of
 * {@value #CLASSES} × rows × n floats, and {@code gemm_fold_classes_store / _residual} adds them in class order:
 * the tiled kernel's order, so the same bits as every other GEMM of the engine.
 * Off by default until an engine A/B on a GPU says it pays: {@code -Droutingreplay.cuda.classSplitDense=ROWS}
 * runs it from ROWS rows up. {@code -Droutingreplay.cuda.classSplitFold=cluster} folds inside the one launch instead
 * ({@code gemm_classes_cluster_*}: a tile's 8 class blocks are one thread-block cluster and add each other's sums
 * through distributed shared memory, in the same order), with no workspace and no second launch.
 */
final class ClassSplitDense {
    static final String PROPERTY = "routingreplay.cuda.classSplitDense";
    static final String FOLD_PROPERTY = "routingreplay.cuda.classSplitFold";
    /** The cluster entries' dynamic shared memory at most: the wider shape's ring and its tile of sums. */
    static final int MAX_CLUSTER_SHARED_BYTES = clusterSharedBytes(TiledGemm.CLASSES);

    /** Where the 8 class sums are added: a second launch over a workspace, or inside the launch through a cluster. */
    enum Fold {
        WORKSPACE, CLUSTER
    }
    /** The K walk's classes (GEMM_WARPS in kernels/gemm.cuh): grid z, and the workspace's class count. */
    static final int CLASSES = 8;

    private ClassSplitDense() {
    }

    /** The fewest rows it runs at ({@value #PROPERTY}), or 0 for off (unset, empty or {@code off}). */
    static int fromRows(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        if (v.isEmpty() || v.equals("off")) {
            return 0;
        }
        try {
            int rows = Integer.parseInt(v);
            if (rows >= 1) {
                return rows;
            }
        } catch (NumberFormatException e) {
            // falls through to the message below
        }
        throw new IllegalArgumentException("-D" + PROPERTY + "=" + value
                + ": expected off or the fewest rows (>= 1) to run the class-split dense products at");
    }

    /** {@value #FOLD_PROPERTY}: unset, empty or {@code workspace} — {@link Fold#WORKSPACE}; {@code cluster}. */
    static Fold fold(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        if (v.isEmpty() || v.equals("workspace")) {
            return Fold.WORKSPACE;
        }
        if (v.equals("cluster")) {
            return Fold.CLUSTER;
        }
        throw new IllegalArgumentException("-D" + FOLD_PROPERTY + "=" + value + ": expected workspace or cluster");
    }

    /** The cluster form of shape {@code g} ({@link TiledGemm#CLASSES} or {@link TiledGemm#CLASSES_32}). */
    static String clusterEntry(TiledGemm g, boolean residual) {
        String shape = g.name().substring("gemm_classes".length());   // "_t4x2x4"
        return "gemm_classes_cluster_" + (residual ? "residual" : "store") + shape;
    }

    /** The cluster form's dynamic shared memory: the ring, then the tile's class sums [tokens][rows]. */
    static int clusterSharedBytes(TiledGemm g) {
        return g.sharedBytes() + 4 * g.rows() * g.tokens();
    }

    static boolean isCluster(String kernel) {
        return kernel.startsWith("gemm_classes_cluster_");
    }

    /** The dynamic shared memory a class-split entry must be allowed beyond the default 48 KB, or 0 for any other
     *  kernel (and for the 48 KB one). */
    static int dynamicSharedBytes(String kernel) {
        if (isCluster(kernel)) {
            return MAX_CLUSTER_SHARED_BYTES;
        }
        return kernel.equals(TiledGemm.CLASSES.name()) ? TiledGemm.CLASSES.sharedBytes() : 0;
    }

    /** The widest product it serves: the attention's fused QKV or the hidden size (O, shared experts, dense layers).
     *  Wider ones (lm_head; MLA, which has no fused QKV, its q_b / kv_b) keep their kernels. */
    static int maxOutputs(ModelConfig c) {
        if (c.attention instanceof MlaAttention) {
            return c.hiddenSize;
        }
        return Math.max(c.hiddenSize, (c.numHeads + 2 * c.numKvHeads) * c.headDim);
    }

    /** The workspace the switches at start ask for ({@value #PROPERTY} on with the workspace fold), else 0: what
     *  CudaModelRunner leaves out of the K/V cache before ForwardPass parses the switches. */
    static long configuredWorkspaceBytes(ModelConfig c, int maxRows) {
        return workspaceBytes(c, maxRows, fromRows(System.getProperty(PROPERTY)),
                fold(System.getProperty(FOLD_PROPERTY)));
    }

    /** The workspace the parsed switches need: {@link #workspaceBytes(ModelConfig, int)} when the split is on
     *  ({@code fromRows} > 0) with the workspace fold, else 0. */
    static long workspaceBytes(ModelConfig c, int maxRows, int fromRows, Fold fold) {
        return fromRows > 0 && fold == Fold.WORKSPACE ? workspaceBytes(c, maxRows) : 0L;
    }

    /** The class sums' workspace for products of fewer than {@code maxRows} rows. */
    static long workspaceBytes(ModelConfig c, int maxRows) {
        return 4L * CLASSES * (maxRows - 1) * maxOutputs(c);
    }
}
