package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.kvcache.KvCacheDtype;
import io.routingreplay.runtime.scheduler.AdmissionPolicy;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one engine configuration object, checked once in {@link Builder#build()}.
 *
 * @param modelDir          Hugging Face checkpoint folder (config.json + safetensors [+ tokenizer.json])
 * @param backend           "cpu" or "cuda"
 * @param maxNumSeqs        most sequences in one step (prefilling + decoding)
 * @param maxBatchTokens    most tokens in one step; longer prompts are prefilled in chunks of this size
 * @param kvBlockSize       positions per paged-KV block
 * @param kvCacheTokens     K/V capacity in positions across all sequences (0: the backend sizes it from memory)
 * @param kvCacheDtype      element type of the K/V cache (fp32 exact; bf16 / fp8 fewer bytes, more positions)
 * @param gemmInputs        what the matrix products multiply the weights by: the activation split into bf16 hi + lo
 *                          (SPLIT, default, close to fp32) or rounded to bf16 (BF16: half the tensor-core work)
 * @param maxNewTokensCap   the largest max_new_tokens a request may ask for
 * @param threads           CPU backend worker threads
 * @param syntheticConfig   when set (CUDA benchmarks), random weights of this config.json instead of modelDir
 * @param prefixCache       share full K/V blocks (and their routing) between requests with equal token prefixes,
 *                          and keep a preempted request's blocks for its re-admission (on by default, as vLLM)
 * @param admission         when a waiting request may start: EAGER (default) when its known tokens fit, RESERVE only
 *                          when its largest length fits beside the running requests' (no preemption)
 * @param tensorParallel    ranks the model is split over (GPUs of one node; in-process ranks on the CPU backend):
 *                          attention heads, dense and shared MLPs and the vocabulary split over all of them
 * @param expertParallel    groups of whole experts the routed experts are split into over those ranks (divides
 *                          tensorParallel; the ranks of a group split each expert's width)
 * @param promptEndLogitsBytes with the prefix cache, the most host bytes of raw logits rows kept with cached blocks
 *                          that ended a prompt (vocab × 4 B each), so that a request whose whole prompt is cached
 *                          computes nothing (default 64 MiB: 110 rows of Qwen3's 151,936-token vocabulary; least
 *                          recently used dropped first; 0 keeps none: the last block of such a prompt is computed)
 * @param swapSpaceBytes    host memory a preempted request's K/V blocks are copied to and restored from at its
 *                          return instead of being computed again (vLLM's swap_space; default 16 GiB of pinned
 *                          memory on cuda, an eighth of the heap at most 16 GiB on cpu; 0: none, preempted work is
 *                          recomputed). When it is full the copies of the requests preempted longest ago are dropped
 */
public record EngineConfig(Path modelDir, String backend, int maxNumSeqs, int maxBatchTokens, int kvBlockSize,
                           int kvCacheTokens, KvCacheDtype kvCacheDtype, GemmInputs gemmInputs, int maxNewTokensCap,
                           int threads, Path syntheticConfig, boolean prefixCache, AdmissionPolicy admission, int tensorParallel,
                           int expertParallel, long promptEndLogitsBytes, long swapSpaceBytes) {
    public static final long DEFAULT_PROMPT_END_LOGITS_BYTES = 64L << 20;
    /** The swap space of the cuda backend when not configured (pinned host memory, taken as it is used). */
    public static final long DEFAULT_CUDA_SWAP_SPACE_BYTES = 16L << 30;

    public static Builder builder(Path modelDir) {
        return new Builder().modelDir(modelDir);
    }

    public static final class Builder {
        private Path modelDir;
        private String backend = "cpu";
        private int maxNumSeqs = 256;
        private int maxBatchTokens = 2048;
        private int kvBlockSize = 16;
        private int kvCacheTokens = 0;
        private KvCacheDtype kvCacheDtype = KvCacheDtype.FP32;
        private GemmInputs gemmInputs = GemmInputs.SPLIT;
        private int maxNewTokensCap = 32768;
        private int threads = Runtime.getRuntime().availableProcessors();
        private Path syntheticConfig;
        private boolean prefixCache = true;
        private AdmissionPolicy admission = AdmissionPolicy.EAGER;
        private int tensorParallel = 1;
        private int expertParallel = 1;
        private long promptEndLogitsBytes = DEFAULT_PROMPT_END_LOGITS_BYTES;
        /** Null: the backend's default (see {@link #defaultSwapSpaceBytes}). */
        private Long swapSpaceBytes;

        public Builder modelDir(Path v) { modelDir = v; return this; }
        public Builder backend(String v) { backend = v; return this; }
        public Builder maxNumSeqs(int v) { maxNumSeqs = v; return this; }
        public Builder maxBatchTokens(int v) { maxBatchTokens = v; return this; }
        public Builder kvBlockSize(int v) { kvBlockSize = v; return this; }
        public Builder kvCacheTokens(int v) { kvCacheTokens = v; return this; }
        public Builder kvCacheDtype(KvCacheDtype v) { kvCacheDtype = v; return this; }
        public Builder gemmInputs(GemmInputs v) { gemmInputs = v; return this; }
        public Builder maxNewTokensCap(int v) { maxNewTokensCap = v; return this; }
        public Builder threads(int v) { threads = v; return this; }
        public Builder syntheticConfig(Path v) { syntheticConfig = v; return this; }
        public Builder prefixCache(boolean v) { prefixCache = v; return this; }
        public Builder admission(AdmissionPolicy v) { admission = v; return this; }
        public Builder tensorParallel(int v) { tensorParallel = v; return this; }
        public Builder expertParallel(int v) { expertParallel = v; return this; }
        public Builder promptEndLogitsBytes(long v) { promptEndLogitsBytes = v; return this; }
        public Builder swapSpaceBytes(long v) { swapSpaceBytes = v; return this; }
        /** Host swap space in bytes; null keeps the backend's default. */
        public Builder swapSpaceBytes(Long v) { swapSpaceBytes = v; return this; }

        public EngineConfig build() {
            if (syntheticConfig == null) {
                require(modelDir != null, "a model folder is required (--model DIR)");
                require(Files.isDirectory(modelDir), "model folder " + modelDir + " does not exist");
            } else {
                require(Files.isRegularFile(syntheticConfig), "synthetic config " + syntheticConfig + " does not exist");
            }
            require(backend.equals("cpu") || backend.equals("cuda"), "backend must be 'cpu' or 'cuda', got '" + backend + "'");
            require(syntheticConfig == null || backend.equals("cuda"),
                    "synthetic weights are made on the GPU: use backend 'cuda' with a synthetic config");
            require(maxNumSeqs >= 1, "maxNumSeqs must be >= 1");
            require(maxBatchTokens >= maxNumSeqs, "maxBatchTokens (" + maxBatchTokens
                    + ") must be >= maxNumSeqs (" + maxNumSeqs + ") so every running sequence can decode each step");
            require(kvBlockSize >= 1 && Integer.bitCount(kvBlockSize) == 1, "kvBlockSize must be a power of two");
            require(kvCacheTokens >= 0, "kvCacheTokens must be >= 0 (0 sizes it from memory)");
            require(kvCacheDtype != null, "kvCacheDtype must be fp32, bf16 or fp8");
            require(gemmInputs != null, "gemmInputs must be split or bf16");
            require(maxNewTokensCap >= 1, "maxNewTokensCap must be >= 1");
            require(threads >= 1, "threads must be >= 1");
            require(admission != null, "admission must be eager or reserve");
            require(tensorParallel >= 1, "tensorParallel must be >= 1, got " + tensorParallel);
            require(expertParallel >= 1, "expertParallel must be >= 1, got " + expertParallel);
            require(tensorParallel % expertParallel == 0, "expertParallel (" + expertParallel
                    + ") must divide tensorParallel (" + tensorParallel + "): the experts are spread over the "
                    + "engine's tensorParallel ranks in expertParallel groups");
            require(tensorParallel == 1 || backend.equals("cpu"), "tensorParallel " + tensorParallel + " needs the "
                    + "multi-GPU CUDA backend, which is not built yet (docs/multi-gpu.md); the CPU backend runs the "
                    + "sharded reference");
            require(promptEndLogitsBytes >= 0, "promptEndLogitsBytes must be >= 0 (0 keeps no logits rows)");
            require(swapSpaceBytes == null || swapSpaceBytes >= 0, "swapSpaceBytes must be >= 0 (0: no swap space)");
            return new EngineConfig(modelDir, backend, maxNumSeqs, maxBatchTokens, kvBlockSize, kvCacheTokens,
                    kvCacheDtype, gemmInputs, maxNewTokensCap, threads, syntheticConfig, prefixCache, admission, tensorParallel,
                    expertParallel, promptEndLogitsBytes,
                    swapSpaceBytes == null ? defaultSwapSpaceBytes(backend) : swapSpaceBytes);
        }

        /** 16 GiB on cuda; on cpu (where the swap space is heap, like the cache) an eighth of the heap, at most that. */
        static long defaultSwapSpaceBytes(String backend) {
            return backend.equals("cuda") ? DEFAULT_CUDA_SWAP_SPACE_BYTES
                    : Math.min(DEFAULT_CUDA_SWAP_SPACE_BYTES, Runtime.getRuntime().maxMemory() / 8);
        }

        private static void require(boolean ok, String message) {
            if (!ok) {
                throw new IllegalArgumentException("invalid engine config: " + message);
            }
        }
    }
}
