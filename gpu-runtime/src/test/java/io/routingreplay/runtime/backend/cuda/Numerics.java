package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GemmInputs;
import io.routingreplay.runtime.kvcache.KvCacheDtype;

/**
 * The numerics every engine of the GPU checks is built with, CUDA and CPU alike: the K/V cache element type and the
 * GEMM inputs. Only {@link #EXACT} (fp32 K/V, split inputs) is held to transformers' reference; the others report how
 * far they move from it.
 */
record Numerics(KvCacheDtype kv, GemmInputs gemmInputs) {
    static final Numerics EXACT = new Numerics(KvCacheDtype.FP32, GemmInputs.SPLIT);

    boolean exact() {
        return equals(EXACT);
    }

    EngineConfig.Builder applyTo(EngineConfig.Builder b) {
        return b.kvCacheDtype(kv).gemmInputs(gemmInputs);
    }

    @Override
    public String toString() {
        return kv + " K/V, " + gemmInputs + " GEMM inputs";
    }
}
