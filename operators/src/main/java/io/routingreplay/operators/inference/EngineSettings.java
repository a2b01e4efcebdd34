package io.routingreplay.operators.inference;

import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GemmInputs;
import io.routingreplay.runtime.kvcache.KvCacheDtype;
import io.routingreplay.runtime.scheduler.AdmissionPolicy;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * The engine configuration in a form Flink can ship to task managers (EngineConfig holds a {@link Path}, which is
 * not serializable). Each inference subtask builds its own engine from it in {@code open()}.
 *
 * @param gemmInputs     what the matrix products multiply the weights by (split, or bf16)
 * @param swapSpaceBytes host memory for preempted requests' K/V blocks; null: the backend's default
 */
public record EngineSettings(String modelDir, String backend, int maxNumSeqs, int maxBatchTokens, int kvCacheTokens,
                             KvCacheDtype kvCacheDtype, GemmInputs gemmInputs, int maxNewTokensCap, int threads,
                             boolean prefixCache, AdmissionPolicy admission, int tensorParallel, int expertParallel,
                             Long swapSpaceBytes)
        implements Serializable {

    /** Settings with the split GEMM inputs and the backend's default swap space. */
    public EngineSettings(String modelDir, String backend, int maxNumSeqs, int maxBatchTokens, int kvCacheTokens,
                          KvCacheDtype kvCacheDtype, int maxNewTokensCap, int threads, boolean prefixCache,
                          AdmissionPolicy admission, int tensorParallel, int expertParallel) {
        this(modelDir, backend, maxNumSeqs, maxBatchTokens, kvCacheTokens, kvCacheDtype, GemmInputs.SPLIT,
                maxNewTokensCap, threads, prefixCache, admission, tensorParallel, expertParallel, null);
    }

    /** Builds and checks the engine config; the exception says which setting to fix. */
    public EngineConfig toEngineConfig() {
        return EngineConfig.builder(Path.of(modelDir))
                .backend(backend)
                .maxNumSeqs(maxNumSeqs)
                .maxBatchTokens(maxBatchTokens)
                .kvCacheTokens(kvCacheTokens)
                .kvCacheDtype(kvCacheDtype)
                .gemmInputs(gemmInputs)
                .maxNewTokensCap(maxNewTokensCap)
                .threads(threads)
                .prefixCache(prefixCache)
                .admission(admission)
                .tensorParallel(tensorParallel)
                .expertParallel(expertParallel)
                .swapSpaceBytes(swapSpaceBytes)
                .build();
    }
}
