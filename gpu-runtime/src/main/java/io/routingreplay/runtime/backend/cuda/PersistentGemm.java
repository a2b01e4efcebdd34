package io.routingreplay.runtime.backend.cuda;

/**
 * A persistent GEMM of {@code gemm_staged.cuh}: its entry point and the dynamic shared memory its cp.async ring and
 * reduction buffer take. It gives the same bits as the K-split kernels it replaces ({@code gemm_swiglu[_wide]} for
 * the expert gate/up, {@code gemm_store[_wide]} for the expert down product, QKV and lm_head, over the same tiles),
 * so the choice between them may depend on the batch.
 *
 * @param name kernel entry point
 * @param rows weight rows per work item (per matrix)
 * @param mats weight matrices per item (2 for the gate/up pair)
 * @param sub  8-token groups per item (tiles of 8 * sub pairs)
 * @param pass token groups per pass of the fixed-order reduction (its shared-memory buffer holds that many)
 */
record PersistentGemm(String name, int rows, int mats, int sub, int pass) {
    /** SK_VARIANT's stages in gemm_staged.cuh; GEMM_WARPS in kernels.cu. */
    static final int STAGES = 3, WARPS = 8;
    /** The largest dynamic shared memory a persistent kernel asks for (set on the function before its first use). */
    static final int MAX_SHARED_BYTES = 160 * 1024;

    static final PersistentGemm GATE_UP = new PersistentGemm("gemm_swiglu_p2x2", 32, 2, 2, 2);
    /** The expert down product and lm_head below 64 rows: 64 weight rows × 16 tokens per item. */
    static final PersistentGemm STORE = new PersistentGemm("gemm_store_p4x2", 64, 1, 2, 2);
    /** 64 weight rows × 24 tokens: the dense QKV product at 128-255 rows (each weight round serves 24
     *  rows instead of 16), the expert down product over 24-pair tiles. */
    static final PersistentGemm STORE_24 = new PersistentGemm("gemm_store_p4x3", 64, 1, 3, 3);
    /** The expert gate/up pair over 24-pair tiles (large batches). */
    static final PersistentGemm GATE_UP_24 = new PersistentGemm("gemm_swiglu_p2x3", 32, 2, 3, 1);

    /** Ring stages of 512 bytes per weight row, plus the fixed-order reduction's (WARPS - 1) partial tiles of one pass. */
    int sharedBytes() {
        return STAGES * mats * rows * 512 + (WARPS - 1) * mats * pass * 4 * 32 * 4;
    }

    /** Its grid: as many blocks as stay resident on the device at once (registers, shared memory). */
    int residentBlocks(CudaDevice dev, int multiprocessors) {
        return multiprocessors * Math.max(1, dev.blocksPerMultiprocessor(name, 256, sharedBytes()));
    }

    static boolean isPersistent(String kernel) {
        return kernel.equals(GATE_UP.name) || kernel.equals(STORE.name) || kernel.equals(STORE_24.name)
                || kernel.equals(GATE_UP_24.name);
    }
}
