package io.routingreplay.runtime.cli;

import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GemmInputs;
import io.routingreplay.runtime.kvcache.KvCacheDtype;
import io.routingreplay.runtime.scheduler.AdmissionPolicy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/** The engine options every model-running subcommand accepts, and how they become an {@link EngineConfig}. */
final class EngineOptions {
    static final Set<String> NAMES = Set.of("model", "backend", "max-batch", "max-batch-tokens", "kv-cache-tokens",
            "kv-cache-dtype", "gemm-inputs", "max-new-tokens-cap", "threads", "synthetic-config", "admission", "tensor-parallel",
            "expert-parallel", "prompt-end-logits-mib", "swap-space-gib");
    /** Engine options that take no value. */
    static final Set<String> FLAGS = Set.of("prefix-cache", "no-prefix-cache");

    static final String USAGE = """
              --model DIR              Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json)
              --backend cpu|cuda       compute backend (default cpu)
              --max-batch N            most sequences in one step (default 256)
              --max-batch-tokens N     most tokens in one step; longer prompts prefill in chunks (default 2048)
              --kv-cache-tokens N      K/V cache capacity in positions (default: sized from memory)
              --kv-cache-dtype T       fp32 (default, exact), bf16 or fp8 (e4m3): K/V bytes per element 4 / 2 / 1
              --gemm-inputs M          what the matrix products multiply the bf16 weights by: split (default: the
                                       fp32 activation as bf16 hi + lo, close to fp32) or bf16 (rounded to bf16,
                                       as a bf16 engine does: half the tensor-core work; tokens and routing may
                                       differ from split's)
              --max-new-tokens-cap N   largest max_new_tokens a request may ask for (default 32768)
              --threads N              CPU backend threads (default: all cores)
              --prefix-cache           share the K/V (and routing) of equal prompt prefixes between requests and
                                       keep a preempted request's blocks for its return (default)
              --no-prefix-cache        compute every prompt from scratch
              --prompt-end-logits-mib N  host memory for the logits row of the last position of each cached prompt
                                       that ends on a block boundary (vocab x 4 B each), from which a later
                                       request with the same whole prompt samples without computing any of it
                                       (default 64; 0 keeps none)
              --swap-space-gib G       host memory a preempted request's K/V blocks are copied to, and restored
                                       from when it resumes instead of being computed again (vLLM's swap_space;
                                       default 16 on cuda, pinned as used; on cpu an eighth of the heap, at most
                                       16; 0: none, preempted work is recomputed)
              --admission P            eager (default): start a request as soon as its prompt fits, preempting
                                       the newest when the cache is full; reserve: only when its prompt +
                                       max_new_tokens fit beside what the running ones may still need (never
                                       preempts, nothing recomputed, fewer at once)
              --tensor-parallel N      split the model over N ranks (GPUs of one node): attention heads, dense and
                                       shared MLPs and the vocabulary divided among them (default 1). Today the
                                       CPU backend runs it as N in-process ranks (the sharded reference); the
                                       multi-GPU CUDA backend is not built yet (docs/multi-gpu.md)
              --expert-parallel M      split the routed experts by id into M groups over those N ranks (M divides
                                       N; the N / M ranks of a group split each expert's width; default 1)
              --synthetic-config FILE  instead of --model: random bf16 weights of this config.json, made on the GPU
                                       (--backend cuda; real shapes without the download; token-id prompts only)
            """;

    private EngineOptions() {
    }

    static EngineConfig.Builder builder(CliArgs args) {
        EngineConfig.Builder b;
        if (args.has("synthetic-config")) {
            if (args.has("model")) {
                throw new UsageException("--synthetic-config replaces --model: give one of them");
            }
            if (!args.string("backend", "cpu").equals("cuda")) {
                throw new UsageException("--synthetic-config needs --backend cuda (the random weights are made on the GPU)");
            }
            Path config = args.requiredPath("synthetic-config");
            if (!Files.isRegularFile(config)) {
                throw new UsageException("--synthetic-config " + config + " is not a file");
            }
            b = EngineConfig.builder(null).syntheticConfig(config);
        } else {
            Path model = args.requiredPath("model");
            if (!Files.isDirectory(model)) {
                throw new UsageException("--model " + model + " is not a folder");
            }
            b = EngineConfig.builder(model);
        }
        b.backend(args.string("backend", "cpu"));
        if (args.has("max-batch")) {
            b.maxNumSeqs(args.positiveInt("max-batch", 0));
        }
        if (args.has("max-batch-tokens")) {
            b.maxBatchTokens(args.positiveInt("max-batch-tokens", 0));
        }
        if (args.has("kv-cache-tokens")) {
            b.kvCacheTokens(args.positiveInt("kv-cache-tokens", 0));
        }
        if (args.has("kv-cache-dtype")) {
            try {
                b.kvCacheDtype(KvCacheDtype.parse(args.string("kv-cache-dtype", "fp32")));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--kv-cache-dtype: " + e.getMessage());
            }
        }
        if (args.has("gemm-inputs")) {
            try {
                b.gemmInputs(GemmInputs.parse(args.string("gemm-inputs", "split")));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--gemm-inputs: " + e.getMessage());
            }
        }
        if (args.has("max-new-tokens-cap")) {
            b.maxNewTokensCap(args.positiveInt("max-new-tokens-cap", 0));
        }
        if (args.has("threads")) {
            b.threads(args.positiveInt("threads", 0));
        }
        if (args.has("tensor-parallel")) {
            b.tensorParallel(args.positiveInt("tensor-parallel", 1));
        }
        if (args.has("expert-parallel")) {
            b.expertParallel(args.positiveInt("expert-parallel", 1));
        }
        if (args.flag("prefix-cache") && args.flag("no-prefix-cache")) {
            throw new UsageException("--prefix-cache and --no-prefix-cache contradict each other: give one");
        }
        if (args.flag("no-prefix-cache")) {
            b.prefixCache(false);
        }
        if (args.has("prompt-end-logits-mib")) {
            String v = args.string("prompt-end-logits-mib", "");
            try {
                long mib = Long.parseLong(v.trim());
                if (mib < 0 || mib > (Long.MAX_VALUE >> 20)) {
                    throw new NumberFormatException();
                }
                b.promptEndLogitsBytes(mib << 20);
            } catch (NumberFormatException e) {
                throw new UsageException("--prompt-end-logits-mib must be a whole number of MiB >= 0, got '" + v + "'");
            }
        }
        if (args.has("swap-space-gib")) {
            b.swapSpaceBytes(swapSpaceBytes(args.string("swap-space-gib", "")));
        }
        if (args.has("admission")) {
            try {
                b.admission(AdmissionPolicy.parse(args.string("admission", "eager")));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--admission: " + e.getMessage());
            }
        }
        return b;
    }

    /** GiB, whole or not (0.5), to bytes; a negative or unreadable value is a usage error. */
    static long swapSpaceBytes(String gib) {
        try {
            double g = Double.parseDouble(gib.trim());
            if (!(g >= 0) || g > (1L << 33)) {
                throw new NumberFormatException();
            }
            return (long) (g * (1L << 30));
        } catch (NumberFormatException e) {
            throw new UsageException("--swap-space-gib must be a number of GiB >= 0, got '" + gib + "'");
        }
    }

    /** The finished config; a combination the builder refuses is a usage error, with the builder's message. */
    static EngineConfig build(EngineConfig.Builder b) {
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }
}
