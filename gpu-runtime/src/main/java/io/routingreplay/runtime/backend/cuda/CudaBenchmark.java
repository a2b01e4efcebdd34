package io.routingreplay.runtime.backend.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.backend.StepOutput;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GemmInputs;
import io.routingreplay.runtime.kvcache.KvCacheDtype;
import io.routingreplay.runtime.roofline.StepBytes;
import io.routingreplay.runtime.sampler.SamplingParams;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

import static jcuda.driver.JCudaDriver.*;

/**
 * Decode/prefill throughput of the CUDA backend on the Qwen3-30B-A3B shape with synthetic bf16 weights, driven
 * straight through {@link CudaModelRunner#forward} (no engine scheduling in the numbers), with the HBM roofline of
 * each decode step. Usage: {@code CudaBenchmark [--layers N|auto] [--batches 1,32,128,256] [--prompt 512]
 * [--output 256] [--kv-cache-dtype fp32|bf16|fp8] [--gemm-inputs split|bf16] [--temperature T] [--config CONFIG.json]
 * [--csv FILE]}. Prints a table; the
 * layer count is reduced to what fits the GPU when "auto". {@code --config} runs another shape (a Hugging Face
 * config.json, e.g. examples/glm-4.5-air-config.json) instead of Qwen3-30B-A3B.
 */
public final class CudaBenchmark {
    /** -Droutingreplay.bench.profileDecode=on: only the decode steps run between cuProfilerStart and cuProfilerStop,
     *  so {@code ncu --profile-from-start off} profiles those kernels and none of the prefill's (a batch-128
     *  prefill under ncu outlasts a device call). */
    static final boolean PROFILE_DECODE = "on".equals(System.getProperty("routingreplay.bench.profileDecode"));

    /** Sampling temperature of every sequence ({@code --temperature}); 0 = greedy. */
    private static float temperature = 0f;

    public static void main(String[] args) throws IOException {
        String layersArg = "auto";
        int[] batches = {1, 32, 128, 256};
        int prompt = 512, output = 256;
        Path csv = null;
        Path configFile = null;     // a Hugging Face config.json of the shape to run; default Qwen3-30B-A3B
        KvCacheDtype kv = KvCacheDtype.FP32;
        GemmInputs gemmInputs = GemmInputs.SPLIT;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--layers" -> layersArg = args[++i];
                case "--batches" -> batches = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--prompt" -> prompt = Integer.parseInt(args[++i]);
                case "--output" -> output = Integer.parseInt(args[++i]);
                case "--csv" -> csv = Path.of(args[++i]);
                case "--kv-cache-dtype" -> kv = KvCacheDtype.parse(args[++i]);
                case "--gemm-inputs" -> gemmInputs = GemmInputs.parse(args[++i]);
                case "--temperature" -> temperature = Float.parseFloat(args[++i]);
                case "--config" -> configFile = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        int maxBatch = Arrays.stream(batches).max().orElse(1);
        int ctxPerSeq = prompt + output + 80;

        double copyGBs;
        long free;
        String card;
        try (CudaDevice dev = new CudaDevice(0)) {
            copyGBs = dev.copyBandwidthGBs();
            free = dev.memInfo()[0];
            card = dev.name;
            System.out.printf(Locale.ROOT, "resident blocks per SM: attention_staged_d128 %d, attention_staged_lean_d128g8 "
                            + "%d, attention %d (128 threads), gemm_store_wide %d, gemm_swiglu_wide %d (256)%n",
                    dev.blocksPerMultiprocessor("attention_staged_d128", 128),
                    dev.blocksPerMultiprocessor("attention_staged_lean_d128g8", 128, ForwardPass.LEAN_RING_BYTES),
                    dev.blocksPerMultiprocessor("attention", 128),
                    dev.blocksPerMultiprocessor("gemm_store_wide", 256), dev.blocksPerMultiprocessor("gemm_swiglu_wide", 256));
        }
        ObjectNode shape = configFile == null ? qwen3Json(48)
                : (ObjectNode) new ObjectMapper().readTree(configFile.toFile());
        String shapeName = configFile == null ? "Qwen3-30B-A3B shape" : configFile.getFileName().toString();
        ModelConfig full = ModelConfigLoader.parse(shape, null);
        int layers;
        if (layersArg.equals("auto")) {
            // as many layers as fit beside embeddings, lm_head, 3 GB of workspace and the K/V of the largest batch
            double embeddings = 2.0 * full.vocabSize * full.hiddenSize * 2;
            double perLayer = (StepBytes.modelBytes(full) - embeddings) / full.numLayers
                    + StepBytes.decode(full, kv.bytes(), maxBatch, ctxPerSeq, 0).kvBytes() / full.numLayers;
            layers = (int) Math.min(full.numLayers, (free * 0.9 - embeddings - (3L << 30)) / perLayer);
        } else {
            layers = Integer.parseInt(layersArg);
        }
        shape.put("num_hidden_layers", layers);
        ModelConfig mc = ModelConfigLoader.parse(shape, null);
        Path cfgFile = Files.createTempFile("benchmark-shape", ".json");
        Files.writeString(cfgFile, shape.toString());
        EngineConfig cfg = EngineConfig.builder(null).backend("cuda").syntheticConfig(cfgFile).maxNumSeqs(maxBatch)
                .maxBatchTokens(Math.max(2048, maxBatch)).kvBlockSize(16)
                .kvCacheTokens(maxBatch * (ctxPerSeq + 16)).kvCacheDtype(kv).gemmInputs(gemmInputs).build();
        System.out.printf(Locale.ROOT, "card: %s, copy bandwidth %.0f GB/s (read+write), model %s%n", card, copyGBs, mc);
        long t0 = System.nanoTime();
        List<String> rows = new ArrayList<>();
        try (CudaModelRunner r = CudaModelRunner.create(cfg, mc)) {
            System.out.printf(Locale.ROOT, "synthetic weights: %.1f GB on the GPU in %.1f s; %d K/V blocks%n",
                    r.weightBytes() / 1e9, (System.nanoTime() - t0) / 1e9, r.numKvBlocks());
            rows.add(String.format(Locale.ROOT, "%-28s %8s %12s %12s %12s %10s", "phase", "batch", "ms/step",
                    "tokens/s", "roofline ms", "x roofline"));
            for (int b : batches) {
                int done = rows.size();
                runBatch(r, mc, b, prompt, output, copyGBs, rows, b == 32 || b == 128);
                // each batch's rows as soon as they exist, so that a run cut short by a time limit keeps them
                rows.subList(done, rows.size()).forEach(row -> System.out.println("row: " + row));
            }
        }
        System.out.println();
        System.out.printf(Locale.ROOT, "CUDA backend, %s with %d of %d layers, synthetic bf16 weights, "
                + "%s K/V, %s GEMM inputs, prompt %d / output %d, %s%s%n", shapeName, layers, full.numLayers,
                kv, gemmInputs, prompt, output, card, temperature > 0 ? ", temperature " + temperature : "");
        for (String row : rows) {
            System.out.println(row);
        }
        if (csv != null) {
            Files.writeString(csv, "layers=" + layers + "\n" + String.join("\n", rows) + "\n");
        }
    }

    private static void runBatch(CudaModelRunner r, ModelConfig mc, int B, int prompt, int output, double copyGBs,
                                 List<String> rows, boolean captureAb) {
        // every batch from the configured kernels: the previous batch's A/B rows leave their switch off, and the
        // tensor-core one's "off" is useFmaAttention(false), the tensor-core attention itself
        r.resetKernelSwitches();
        int bs = r.kvBlockSize();
        int perSeq = (prompt + output + 80 + bs - 1) / bs;
        Random rnd = new Random(B);
        int[][] prompts = new int[B][prompt];
        int[][] tables = new int[B][perSeq];
        for (int s = 0; s < B; s++) {
            for (int j = 0; j < prompt; j++) {
                prompts[s][j] = rnd.nextInt(mc.vocabSize);
            }
            for (int j = 0; j < perSeq; j++) {
                tables[s][j] = s * perSeq + j;
            }
        }
        // greedy unless --temperature: seeded sampling over the whole vocabulary (RL rollouts' setting)
        SamplingParams greedy = temperature > 0
                ? new SamplingParams(output, temperature, 1f, 0, 42L, List.of(), true, true)
                : SamplingParams.greedy(output);
        // prefill: chunks of up to 2048 tokens per step, whole prompts where they fit
        int[] next = new int[B];
        int maxTokens = Math.max(2048, B);
        long tp = System.nanoTime();
        int s = 0, off = 0;
        while (s < B) {
            List<SeqChunk> chunks = new ArrayList<>();
            List<Integer> owners = new ArrayList<>();
            int budget = maxTokens;
            while (s < B && budget > 0) {
                int n = Math.min(budget, prompt - off);
                boolean last = off + n == prompt;
                chunks.add(new SeqChunk(Arrays.copyOfRange(prompts[s], off, off + n), off, tables[s], last, greedy,
                        0L, 0));
                owners.add(s);
                budget -= n;
                off += n;
                if (last) {
                    s++;
                    off = 0;
                }
            }
            StepOutput o = r.forward(new ForwardBatch(chunks));
            for (int i = 0; i < chunks.size(); i++) {
                if (chunks.get(i).sample()) {
                    next[owners.get(i)] = o.sampledTokens()[i];
                }
            }
        }
        double prefillS = (System.nanoTime() - tp) / 1e9;
        if (B == 32) {
            // where a prefill step's time goes: the first prompts again (their K/V rewritten with the same values)
            List<SeqChunk> chunks = new ArrayList<>();
            for (int q = 0; q < B && (q + 1) * prompt <= maxTokens; q++) {
                chunks.add(new SeqChunk(prompts[q], 0, tables[q], true, greedy, 0L, 0));
            }
            if (chunks.isEmpty()) { // a prompt longer than a step: its first chunk, as the engine prefills it
                chunks.add(new SeqChunk(Arrays.copyOf(prompts[0], maxTokens), 0, tables[0], false, greedy, 0L, 0));
            }
            printProfile(r, new ForwardBatch(chunks), "prefill " + new ForwardBatch(chunks).numTokens() + " tokens");
        }
        rows.add(String.format(Locale.ROOT, "%-28s %8d %12s %12.0f %12s %10s", "prefill (" + prompt + " tokens)", B,
                "-", (double) B * prompt / prefillS, "-", "-"));
        // decode: output-1 steps (the first output token came from prefill)
        double[] ms = new double[output - 1];
        StepOutput last = null;
        if (PROFILE_DECODE) {
            cuProfilerStart();
        }
        for (int step = 0; step < output - 1; step++) {
            last = decodeStep(r, B, prompt + step, next, tables, greedy, step + 1);
            ms[step] = lastStepMs;
        }
        if (PROFILE_DECODE) {
            cuProfilerStop();
        }
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double total = Arrays.stream(ms).sum();
        double median = sorted[sorted.length / 2];
        double roofMs = StepBytes.decode(mc, r.kvElementBytes(), B, prompt + output / 2, distinctExperts(mc, last)).total()
                / (copyGBs * 1e9) * 1e3;
        double roofMs16 = StepBytes.decode(mc, 2, B, prompt + output / 2, distinctExperts(mc, last)).total() / (copyGBs * 1e9) * 1e3;
        rows.add(String.format(Locale.ROOT, "%-28s %8d %12.2f %12.0f %12.2f %10.2f", "decode (median step)", B, median,
                B * (output - 1) / (total / 1e3), roofMs, median / roofMs));
        rows.add(String.format(Locale.ROOT, "%-28s %8d %12s %12s %12.2f %10.2f", "  vs roofline w/ bf16 K/V", B, "", "",
                roofMs16, median / roofMs16));
        printProfile(r, B, prompt + output - 1, next, tables, greedy);
        {
            List<SeqChunk> chunks = new ArrayList<>(B);
            for (int q = 0; q < B; q++) {
                chunks.add(new SeqChunk(new int[]{next[q]}, prompt + output - 1, tables[q], true, greedy, 0L, 1));
            }
            boolean[] same = r.referenceKernelsAgree(new ForwardBatch(chunks));
            System.out.printf(Locale.ROOT, "batch %d: attention staged vs block %s; GEMMs persistent/tiled vs K-split only %s%n", B,
                    same[0] ? "bit-identical" : "DIFFERENT", same[1] ? "bit-identical" : "DIFFERENT");
            rows.add(String.format(Locale.ROOT, "%-28s %8d %12s", "attention staged = block", B,
                    same[0] ? "identical" : "DIFFERENT"));
            rows.add(String.format(Locale.ROOT, "%-28s %8d %12s", "GEMMs fast = K-split only", B,
                    same[1] ? "identical" : "DIFFERENT"));
        }
        // persistent + tiled vs K-split-only GEMMs, graph-replayed (same call and context)
        kernelAb(r, B, prompt + output - 1, next, tables, greedy, r::useKSplitGemm, "GEMMs fast/K-split only ms",
                "K-split GEMMs only", rows);
        if (r.leanAttentionRuns()) {
            // staged entry vs the lean one it replaces (head_dim 128, 8 query heads per K/V head), graph-replayed
            // (same call and context); only where the lean one runs, so the switch ends where it started
            kernelAb(r, B, prompt + output - 1, next, tables, greedy, staged -> r.useLeanAttention(!staged),
                    "attention lean/staged ms", "staged attention (lean off)", rows);
        }
        // the opt-in kernels of -Droutingreplay.cuda.routerTiles / classSplitDense / classSplitFold, each against
        // what it replaces, graph-replayed (same call and context); each ends as configured
        if (r.routerTilesConfigured() && B > ForwardPass.FUSED_COMBINE_NORM_MAX_ROWS) { // the tiles run above it only
            kernelAb(r, B, prompt + output - 1, next, tables, greedy, tilesOff -> r.useRouterTiles(!tilesOff),
                    "router tiles on/off ms", "router tiles off", rows);
        }
        if (r.classSplitConfigured()) {
            kernelAb(r, B, prompt + output - 1, next, tables, greedy, splitOff -> r.useClassSplitDense(!splitOff),
                    "class-split dense on/off ms", "class-split dense off", rows);
        }
        if (r.classFoldsBothAvailable()) {
            kernelAb(r, B, prompt + output - 1, next, tables, greedy, r::useClusterFold,
                    "class fold workspace/cluster", "cluster fold", rows);
        }
        if (r.tensorCoreAttentionApplies()) {
            // tensor-core vs fp32-FMA attention (bf16 / fp8 K/V), graph-replayed (same call and context); the
            // FMA side starts from -Droutingreplay.cuda.attention's setting, so run without it
            kernelAb(r, B, prompt + output - 1, next, tables, greedy, r::useFmaAttention,
                    "attention tensor-core/FMA ms", "FMA attention", rows);
        }
        if (captureAb) {
            // routing capture off vs on
            double[] ab = interleaved(r, B, prompt + output - 1, next, tables, greedy, 4,
                    captureOff -> r.setCaptureRouting(!captureOff));
            r.setCaptureRouting(true);
            double mOn = ab[0], mOff = ab[1];
            rows.add(String.format(Locale.ROOT, "%-28s %8d %12s %12s %12s %10s", "routing capture on/off ms", B,
                    String.format(Locale.ROOT, "%.3f/%.3f", mOn, mOff), String.format(Locale.ROOT, "%+.2f%%",
                            100 * (mOn - mOff) / mOff), "", ""));
        }
    }

    /**
     * One kernel choice's A/B: decode steps interleaved with the switch off (A) and on (B), the two medians as a
     * table row, then the B side's per-kernel profile; the switch is left off.
     */
    private static void kernelAb(CudaModelRunner r, int B, int pos, int[] next, int[][] tables, SamplingParams p,
                                 java.util.function.Consumer<Boolean> set, String row, String profileLabel,
                                 List<String> rows) {
        double[] ab = interleaved(r, B, pos, next, tables, p, 3, set);
        set.accept(false);
        rows.add(String.format(Locale.ROOT, "%-28s %8d %12s", row, B,
                String.format(Locale.ROOT, "%.2f/%.2f", ab[0], ab[1])));
        System.out.print("[" + profileLabel + "] ");
        set.accept(true);
        printProfile(r, B, pos, next, tables, p);
        set.accept(false);
    }

    /**
     * Median graph-replayed decode step with {@code set(false)} and with {@code set(true)}, measured in interleaved
     * blocks of 8 steps ({@code reps} of each) from position {@code pos} on, so context growth cancels out.
     */
    private static double[] interleaved(CudaModelRunner r, int B, int pos, int[] next, int[][] tables,
                                        SamplingParams p, int reps, java.util.function.Consumer<Boolean> set) {
        List<Double> a = new ArrayList<>(), b = new ArrayList<>();
        for (int rep = 0; rep < reps; rep++) {
            for (boolean alt : new boolean[]{false, true}) {
                set.accept(alt);
                for (int k = 0; k < 8; k++) {
                    decodeStep(r, B, pos++, next, tables, p, pos);
                    (alt ? b : a).add(lastStepMs);
                }
            }
        }
        return new double[]{median(a), median(b)};
    }

    /** One eager decode step with per-kernel timing, printed to the log (not the table). */
    private static void printProfile(CudaModelRunner r, int B, int pos, int[] next, int[][] tables, SamplingParams p) {
        List<SeqChunk> chunks = new ArrayList<>(B);
        for (int s = 0; s < B; s++) {
            chunks.add(new SeqChunk(new int[]{next[s]}, pos, tables[s], true, p, 0L, 1));
        }
        printProfile(r, new ForwardBatch(chunks), "decode batch " + B);
    }

    /** One eager step of {@code batch} with per-kernel timing, printed to the log. */
    private static void printProfile(CudaModelRunner r, ForwardBatch batch, String what) {
        java.util.Map<String, double[]> prof = r.profile(batch);
        double total = prof.values().stream().mapToDouble(v -> v[0]).sum();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "profile %s (eager, kernel time %.2f ms):", what, total));
        prof.entrySet().stream().sorted((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0]))
                .forEach(e -> sb.append(String.format(Locale.ROOT, " %s=%.2fms/%d", e.getKey(), e.getValue()[0],
                        (int) e.getValue()[1])));
        System.out.println(sb);
    }

    private static double lastStepMs;

    private static StepOutput decodeStep(CudaModelRunner r, int B, int pos, int[] next, int[][] tables,
                                         SamplingParams p, int index) {
        List<SeqChunk> chunks = new ArrayList<>(B);
        for (int s = 0; s < B; s++) {
            chunks.add(new SeqChunk(new int[]{next[s]}, pos, tables[s], true, p, 0L, index));
        }
        long t = System.nanoTime();
        StepOutput o = r.forward(new ForwardBatch(chunks));
        lastStepMs = (System.nanoTime() - t) / 1e6;
        for (int s = 0; s < B; s++) {
            next[s] = o.sampledTokens()[s];
        }
        return o;
    }

    private static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a[a.length / 2];
    }

    /** Average number of distinct experts per MoE layer that one step's routing touched. */
    private static double distinctExperts(ModelConfig mc, StepOutput o) {
        int L = mc.numMoeLayers(), K = mc.topK;
        double sum = 0;
        for (int l = 0; l < L; l++) {
            Set<Integer> e = new HashSet<>();
            for (int[] ids : o.routingIds()) {
                for (int k = 0; k < K; k++) {
                    e.add(ids[l * K + k]);
                }
            }
            sum += e.size();
        }
        return sum / L;
    }

    static ObjectNode qwen3Json(int layers) {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.putArray("architectures").add("Qwen3MoeForCausalLM");
        n.put("model_type", "qwen3_moe");
        n.put("vocab_size", 151936);
        n.put("hidden_size", 2048);
        n.put("num_hidden_layers", layers);
        n.put("num_attention_heads", 32);
        n.put("num_key_value_heads", 4);
        n.put("head_dim", 128);
        n.put("intermediate_size", 6144);
        n.put("moe_intermediate_size", 768);
        n.put("num_experts", 128);
        n.put("num_experts_per_tok", 8);
        n.put("norm_topk_prob", true);
        n.put("rms_norm_eps", 1e-6);
        n.put("rope_theta", 1000000.0);
        n.put("max_position_embeddings", 40960);
        n.put("tie_word_embeddings", false);
        n.put("decoder_sparse_step", 1);
        n.putArray("mlp_only_layers");
        n.put("eos_token_id", 151645);
        n.put("torch_dtype", "bfloat16");
        return n;
    }
}
