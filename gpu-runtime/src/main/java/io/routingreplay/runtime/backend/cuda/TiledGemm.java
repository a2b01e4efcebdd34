package io.routingreplay.runtime.backend.cuda;

/**
 * An output-tiled dense GEMM of {@code gemm_tiled.cuh}: blocks of {@code rows} weight rows × {@code tokens}
 * activation rows, each warp walking all of K class by class, so its bits equal the K-split and persistent kernels'
 * (the choice between them may depend on the batch). It reads split rows and needs K % 8 == 0.
 *
 * @param name    kernel entry point
 * @param rows    weight rows per block (grid y)
 * @param tokens  activation rows per block (grid x)
 * @param threads threads per block
 * @param stages  cp.async ring stages of one 32-wide k chunk each
 */
record TiledGemm(String name, int rows, int tokens, int threads, int stages) {
    static final TiledGemm STORE = new TiledGemm("gemm_store_t2x4x1", 128, 32, 128, 4);
    static final TiledGemm RESIDUAL = new TiledGemm("gemm_residual_t2x4x1", 128, 32, 128, 4);

    /** Per stage: the chunk's 64 bytes of every weight row and 128 bytes (split row) of every token. */
    int sharedBytes() {
        return stages * (rows * 64 + tokens * 128);
    }

    static boolean isTiled(String kernel) {
        return kernel.equals(STORE.name) || kernel.equals(RESIDUAL.name);
    }
}
