package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.config.ModelConfig;

import java.util.Locale;

/**
 * Dense products split by class (gemm_tiled.cuh {@code gemm_classes_*}, issue 14): between a few rows and the tiled
 * kernels' {@code TILED_FROM_ROWS} the tiled kernel has too few output tiles to fill the GPU and the K-split ones
 * re-read every weight row per 16–24 tokens (ncu at 128 rows: O 0.44 TB/s, QKV 0.60 TB/s). Here grid z splits the
 * tiled kernel's walk into its 8 classes; each block stores its class's sums in a workspace of
 * {@value #CLASSES} × rows × n floats, and {@code gemm_fold_classes_store / _residual} adds them in class order:
 * the tiled kernel's order, so the same bits as every other GEMM of the engine.
 * Off by default until an engine A/B on a GPU says it pays: {@code -Droutingreplay.cuda.classSplitDense=ROWS}
 * runs it from ROWS rows up.
 */
final class ClassSplitDense {
    static final String PROPERTY = "routingreplay.cuda.classSplitDense";
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

    /** The widest product it serves: the attention's QKV or the hidden size (O, shared experts, dense layers). Wider
     *  ones (MLA's projections) keep their kernels. */
    static int maxOutputs(ModelConfig c) {
        return Math.max(c.hiddenSize, (c.numHeads + 2 * c.numKvHeads) * c.headDim);
    }

    /** The class sums' workspace for products of fewer than {@code maxRows} rows. */
    static long workspaceBytes(ModelConfig c, int maxRows) {
        return 4L * CLASSES * (maxRows - 1) * maxOutputs(c);
    }
}
