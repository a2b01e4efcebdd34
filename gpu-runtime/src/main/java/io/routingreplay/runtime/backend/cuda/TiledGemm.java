package io.routingreplay.runtime.backend.cuda;

/**
 * An output-tiled GEMM of {@code gemm_tiled.cuh} (dense rows, or expert tiles of up to {@code tokens} pairs):
 * blocks of {@code rows} weight rows × {@code tokens} activation rows, each warp walking all of K class by class, so its bits equal the K-split and persistent kernels'
 * (the choice between them may depend on the batch). It reads split rows and needs K % 8 == 0.
 *
 * @param name    kernel entry point
 * @param rows    weight rows per block (grid y)
 * @param tokens  activation rows per block (grid x)
 * @param threads threads per block
 * @param stages  cp.async ring stages of one 32-wide k chunk each
 * @param mats    weight matrices per block (2 for the gate/up pair)
 */
record TiledGemm(String name, int rows, int tokens, int threads, int stages, int mats) {
    static final TiledGemm STORE = new TiledGemm("gemm_store_t2x4x1", 128, 32, 128, 4, 1);
    static final TiledGemm RESIDUAL = new TiledGemm("gemm_residual_t2x4x1", 128, 32, 128, 4, 1);
    /** The expert gate/up pair over tiles of {@code tokens} pairs: 64 rows of each matrix per block. */
    static final TiledGemm SWIGLU = new TiledGemm("gemm_swiglu_t1x4x1", 64, 32, 128, 4, 2);
    /** Dense products split by class (grid z, {@link ClassSplitDense}): 128 weight rows × 128 tokens, 8 warps. */
    static final TiledGemm CLASSES = new TiledGemm("gemm_classes_t4x2x4", 128, 128, 256, 3, 1);
    /** The same over 32-token tiles, 4 warps: up to 32 rows. */
    static final TiledGemm CLASSES_32 = new TiledGemm("gemm_classes_t2x4x1", 128, 32, 128, 4, 1);

    /** Per stage: the chunk's 64 bytes of every weight row and 128 bytes (split row) of every token. */
    int sharedBytes() {
        return stages * (mats * rows * 64 + tokens * 128);
    }

    static boolean isTiled(String kernel) {
        return kernel.equals(STORE.name) || kernel.equals(RESIDUAL.name) || kernel.equals(SWIGLU.name)
                || kernel.equals(CLASSES.name) || kernel.equals(CLASSES_32.name);
    }
}
