package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.ModelRunner;
import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.backend.StepOutput;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.kvcache.KvCacheDtype;
import io.routingreplay.runtime.model.Rope;
import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.attention.MlaAttention;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.weights.WeightStore;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstreamCaptureMode;

import java.nio.IntBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static jcuda.driver.JCudaDriver.*;

/**
 * The CUDA backend: bf16 weights on the GPU, fp32 activations, a paged K/V cache (fp32, bf16 or fp8 elements) sized
 * from free GPU memory.
 * Each {@link #forward} is one host→device copy of the step's inputs, the kernel sequence of {@link ForwardPass}
 * (replayed from a CUDA graph for decode steps, one graph per batch bucket: {@link DecodeBuckets}), and one device→host
 * copy carrying sampled tokens, logprobs and the routing record. With prompt-end logits a step also copies whole
 * logits rows: the rows of chunks that sample from a kept row in before its kernels, the rows of chunks that keep
 * theirs out after sampling ({@link LogitsRowStaging}; such steps run eagerly).
 */
public final class CudaModelRunner implements ModelRunner {
    /** Share of the free GPU memory (after weights and workspace) given to the K/V cache when not configured. */
    static final double KV_MEMORY_FRACTION = 0.90;
    static final long KV_MEMORY_RESERVE = 1L << 30;

    private final CudaDevice dev;
    private final ModelConfig c;
    private final DeviceWeights weights;
    private final Workspace ws;
    private final ForwardPass pass;
    private final LogitsRowStaging logitsRows;
    private final int blockSize, numBlocks;
    private final Map<Integer, CUgraphExec> graphs = new HashMap<>();
    private final boolean useGraphs;
    private final int kvElemBytes;
    private boolean forceEager;
    private boolean captureRouting = true;
    private long graphLaunches, eagerSteps;
    /** Host memory the swap space pins at a time ({@link CudaKvSwap#CHUNK_BYTES}; the GPU check takes a few slots to
     *  cross chunks). */
    private long swapChunkBytes = CudaKvSwap.CHUNK_BYTES;
    private CudaKvSwap swap;

    private CudaModelRunner(CudaDevice dev, ModelConfig c, DeviceWeights weights, Workspace ws, ForwardPass pass,
                            int blockSize, int numBlocks, boolean useGraphs, int kvElemBytes) {
        this.dev = dev;
        this.c = c;
        this.weights = weights;
        this.ws = ws;
        this.pass = pass;
        this.logitsRows = new LogitsRowStaging(dev, ws, c.vocabSize);
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.useGraphs = useGraphs;
        this.kvElemBytes = kvElemBytes;
    }

    public static CudaModelRunner create(EngineConfig cfg, ModelConfig mc) {
        checkSupported(mc);
        CudaDevice dev = new CudaDevice(Integer.getInteger("routingreplay.cuda.device", 0), cfg.gemmInputs());
        try {
            DeviceWeights w;
            if (cfg.syntheticConfig() != null) {
                w = DeviceWeights.synthetic(dev, mc, Long.getLong("routingreplay.cuda.syntheticSeed", 1234L));
            } else {
                w = DeviceWeights.upload(dev, ModelWeights.load(mc, WeightStore.open(cfg.modelDir())));
            }
            int bs = cfg.kvBlockSize();
            KvCacheDtype kvType = cfg.kvCacheDtype();
            int kvElem = kvType.bytes();
            int maxTokens = cfg.maxBatchTokens(), maxSeqs = cfg.maxNumSeqs();
            int kvWidth = MlaLayout.cacheWidth(mc);     // GQA: kv_dim; MLA: a padded K/V head per query head
            long kvBytesPerBlock = 2L * mc.numLayers * bs * kvWidth * kvElem;
            int maxBlocksPerSeq = (mc.maxPositionEmbeddings + bs - 1) / bs;
            int blocks;
            if (cfg.kvCacheTokens() > 0) {
                blocks = (cfg.kvCacheTokens() + bs - 1) / bs;
            } else {
                long free = dev.memInfo()[0] - Workspace.bytes(mc, maxTokens, maxSeqs, maxBlocksPerSeq)
                        - MlaAttentionStep.workspaceBytes(mc, maxTokens)
                        - ClassSplitDense.configuredWorkspaceBytes(mc, ForwardPass.TILED_FROM_ROWS);
                long usable = (long) (free * KV_MEMORY_FRACTION) - KV_MEMORY_RESERVE;
                blocks = (int) Math.min(Integer.MAX_VALUE / 2, usable / kvBytesPerBlock - 1);
                if (blocks < 1) {
                    throw new IllegalStateException("no GPU memory left for the K/V cache after "
                            + (w.bytes >> 20) + " MiB of weights on " + dev.name + ": use a smaller model or GPU");
                }
            }
            maxBlocksPerSeq = Math.min(maxBlocksPerSeq, blocks);
            Workspace ws = new Workspace(dev, mc, maxTokens, maxSeqs, maxBlocksPerSeq);
            // one extra block (id = blocks) takes the K/V writes of padding rows in graph-replayed steps
            long slots = (long) (blocks + 1) * bs;
            CUdeviceptr[] k = new CUdeviceptr[mc.numLayers], v = new CUdeviceptr[mc.numLayers];
            for (int l = 0; l < mc.numLayers; l++) {
                k[l] = dev.alloc(slots * kvWidth * kvElem);
                v[l] = dev.alloc(slots * kvWidth * kvElem);
            }
            uploadInvFreq(ws, mc);
            boolean graphs = !"false".equals(System.getProperty("routingreplay.cuda.graphs"));
            return new CudaModelRunner(dev, mc, w, ws, new ForwardPass(dev, mc, w, ws, k, v, bs, kvType),
                    bs, blocks, graphs, kvElem);
        } catch (RuntimeException e) {
            dev.close();
            throw e;
        }
    }

    /**
     * Refuses, with the reason, a model whose parts the CUDA kernels do not implement (checked before any GPU work).
     */
    static void checkSupported(ModelConfig mc) {
        String why = null;
        GroupedRouter router = GroupedRouter.of(mc);
        GqaAttention gqa = mc.attention instanceof GqaAttention g ? g : null;
        MlaAttention mla = mc.attention instanceof MlaAttention m ? m : null;
        if (mla != null && MlaLayout.unsupported(mc, mla) != null) {
            why = "its attention is " + mc.attention + ": " + MlaLayout.unsupported(mc, mla) + " (use --backend cpu)";
        } else if (gqa != null && gqa.qkvBias() && gqa.qkNorm() == QkNorm.FULL) {
            why = "its attention has q/k/v bias and full-width q/k norm (" + mc.attention + "); the CUDA kernels "
                    + "run bias with per-head or no q/k norm (use --backend cpu)";
        } else if (router != null && router.unsupported(mc.numExperts) != null) {
            why = "its router is " + mc.router + ": " + router.unsupported(mc.numExperts) + " (use --backend cpu)";
        } else if (gqa != null && !Rope.DEFAULT.equals(mc.rope.type())) {
            // MLA applies YaRN (frequencies, attention factor, mscale² in the softmax scale): mla_rope_kv
            why = "its RoPE is " + mc.rope.type() + "; the CUDA backend runs YaRN for MLA only (use --backend cpu)";
        } else if (mc.hiddenSize % 8 != 0 || mc.moeIntermediateSize % 8 != 0 || (gqa != null && mc.qDim() % 8 != 0)
                || mc.denseIntermediateSize % 8 != 0 || mc.sharedExpertIntermediateSize % 8 != 0) {
            why = "hidden, q and intermediate sizes must be multiples of 8";
        } else if (gqa != null && (mc.headDim > 256 || mc.headDim % 4 != 0)) {   // MLA: MlaLayout.unsupported
            why = "head_dim must be a multiple of 4 up to 256";
        } else if (mc.numExperts > 1024 || mc.topK > 32) {
            why = "at most 1024 experts and top-k 32";
        }
        if (why != null) {
            throw new IllegalArgumentException("the CUDA backend cannot run " + mc + ": " + why);
        }
    }

    /** RoPE inverse frequencies, the same bits as the CPU backend's. */
    private static void uploadInvFreq(Workspace ws, ModelConfig c) {
        float[] f = Rope.inverseFrequencies(c);
        cuMemcpyHtoD(ws.invFreq, Pointer.to(f), 4L * f.length);
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public int kvBlockSize() {
        return blockSize;
    }

    @Override
    public int numKvBlocks() {
        return numBlocks;
    }

    /** Bytes of one block of one layer's keys (or values): the cache's width as {@link #create} allocates it. */
    private long kvBlockBytes() {
        return (long) blockSize * MlaLayout.cacheWidth(c) * kvElemBytes;
    }

    @Override
    public long kvSwapBytesPerBlock() {
        return 2L * c.numLayers * kvBlockBytes();
    }

    @Override
    public io.routingreplay.runtime.backend.KvSwapSpace openKvSwapSpace(int slots) {
        swap = CudaKvSwap.over(dev, pass.kCache, pass.vCache, kvBlockBytes(), numBlocks, slots, swapChunkBytes);
        return swap;
    }

    /** Pins the swap space opened after this in chunks of {@code bytes} (at least one slot each). */
    void swapChunkBytes(long bytes) {
        swapChunkBytes = bytes;
    }

    /** The swap space last opened, or null: for the GPU check's report. */
    CudaKvSwap swapSpace() {
        return swap;
    }

    /**
     * A kept row is the very {@code ws.logits} row {@code sample_tokens} read, copied out after it; a given row is
     * copied into a row of {@code ws.logits} that lm_head does not write, and the same kernel samples it
     * ({@link LogitsRowStaging}).
     */
    @Override
    public boolean supportsPromptEndLogits() {
        return true;
    }

    @Override
    public java.util.OptionalDouble copyBandwidthGBs() {
        return java.util.OptionalDouble.of(dev.copyBandwidthGBs());
    }

    public String deviceName() {
        return dev.name;
    }

    public long weightBytes() {
        return weights.bytes;
    }

    /** Benchmark switch: off skips writing and copying back the routing record (the engine needs it on). */
    public void setCaptureRouting(boolean on) {
        captureRouting = on;
    }

    /** Bytes per K/V cache element (4: fp32, 2: bf16, 1: fp8). */
    public int kvElementBytes() {
        return kvElemBytes;
    }

    /**
     * Runs one step eagerly with a device event pair around every kernel: total milliseconds and launch count
     * per kernel name (to see where a step's time goes; the graph-replayed steps have no per-kernel timing).
     */
    public java.util.Map<String, double[]> profile(ForwardBatch batch) {
        forceEager = true;
        dev.startProfile();
        try {
            forward(batch);
        } finally {
            forceEager = false;
        }
        return dev.endProfile();
    }

    /**
     * Runs the same step eagerly with the default kernels, then with the block attention kernel instead of the
     * staged one, then with the K-split expert GEMMs instead of the persistent ones, and says for each
     * alternative whether the sampled tokens, logprobs and routing records are bit-identical to the default's
     * ({attention, gemm}; true where the alternative is what runs anyway). With a bf16 / fp8 cache where the
     * tensor-core attention applies, the first step runs it whatever the switch says (so the checks exercise it); it
     * has no bit-identical reference, so the attention comparison is then the staged FMA kernel's step against the
     * block kernel's. Where the lean staged attention applies (head_dim 128, 8 query heads per K/V head) the staged
     * step runs it (the default) and, unless it is switched off, the staged entry it replaces runs too: the
     * attention answer is true only if both equal the block kernel's step. Running a step again is harmless: it
     * rewrites the same K/V values into the same slots.
     */
    public boolean[] referenceKernelsAgree(ForwardBatch batch) {
        forceEager = true;
        try {
            pass.blockAttention = false;
            pass.fmaAttention = false;
            pass.kSplitGemm = false;
            StepOutput fast = forward(batch);
            pass.fmaAttention = true;
            StepOutput staged = pass.tensorCoreAttentionApplies() ? forward(batch) : fast;
            StepOutput replacedStaged = staged; // the staged entry the lean one replaces, where it does
            if (pass.leanAttention && pass.leanAttentionApplies()) {
                pass.leanAttention = false;
                replacedStaged = forward(batch);
                pass.leanAttention = true;
            }
            pass.blockAttention = true;
            StepOutput blockAttention = forward(batch);
            pass.blockAttention = false;
            pass.fmaAttention = false;
            pass.kSplitGemm = true;
            StepOutput kSplit = forward(batch);
            return new boolean[]{sameOutput(staged, blockAttention) && sameOutput(replacedStaged, blockAttention),
                    sameOutput(fast, kSplit)};
        } finally {
            resetKernelSwitches();
            forceEager = false;
        }
    }

    /** Sets the kernel switches the A/Bs flip (block / FMA / lean attention, K-split GEMMs) back to what the system
     *  properties say, as {@link ForwardPass} reads them at start. */
    public void resetKernelSwitches() {
        pass.readSwitches();
    }

    private static boolean sameOutput(StepOutput a, StepOutput b) {
        return java.util.Arrays.equals(a.sampledTokens(), b.sampledTokens())
                && java.util.Arrays.equals(a.logprobs(), b.logprobs())
                && java.util.Arrays.deepEquals(a.routingIds(), b.routingIds())
                && java.util.Arrays.deepEquals(a.routingWeights(), b.routingWeights());
    }

    /** Selects the K-split expert GEMMs only (true) or the persistent ones where they apply (false), for A/Bs. */
    public void useKSplitGemm(boolean kSplit) {
        pass.kSplitGemm = kSplit;
    }

    /** Runs the fp32-FMA attention kernels even where the tensor-core ones apply (the benchmark's A/B). */
    public void useFmaAttention(boolean fma) {
        pass.fmaAttention = fma;
    }

    /** Runs the lean staged attention where it applies (true, the default) or the staged entry it replaces
     *  (false), for A/Bs. */
    public void useLeanAttention(boolean lean) {
        pass.leanAttention = lean;
    }

    /** Whether the step's FMA attention runs the lean staged entry (head_dim 128, 8 query heads per K/V head, not
     *  switched off; kernels/attention_staged_lean.cuh). */
    public boolean leanAttentionRuns() {
        return pass.leanAttention && pass.leanAttentionApplies();
    }

    /** Whether -Droutingreplay.cuda.routerTiles turned the tiled MoE router on at start (its buffers sized for it). */
    public boolean routerTilesConfigured() {
        return RouterTiles.enabled(System.getProperty(RouterTiles.PROPERTY));
    }

    /** Runs the tiled MoE router where it applies (true; only when {@link #routerTilesConfigured()}) or the
     *  kernels it replaces (false), for A/Bs. */
    public void useRouterTiles(boolean on) {
        pass.routerTiles = on && routerTilesConfigured();
    }

    /** Whether -Droutingreplay.cuda.classSplitDense turned the class-split dense products on at start. */
    public boolean classSplitConfigured() {
        return ClassSplitDense.fromRows(System.getProperty(ClassSplitDense.PROPERTY)) > 0;
    }

    /** Runs the class-split dense products from the configured rows (true) or the kernels they replace (false),
     *  for A/Bs. */
    public void useClassSplitDense(boolean on) {
        pass.classSplitFrom = on ? ClassSplitDense.fromRows(System.getProperty(ClassSplitDense.PROPERTY)) : 0;
    }

    /** Whether both class folds can run: the workspace exists only when the class split with the workspace fold was
     *  configured at start; the cluster fold needs none. */
    public boolean classFoldsBothAvailable() {
        return pass.classWorkspaceAllocated();
    }

    /** Adds the class sums through a cluster (true) or the workspace (false), for A/Bs; see
     *  {@link #classFoldsBothAvailable()}. */
    public void useClusterFold(boolean cluster) {
        pass.classFold = cluster ? ClassSplitDense.Fold.CLUSTER : ClassSplitDense.Fold.WORKSPACE;
    }

    /** Whether the tensor-core attention applies to this model and K/V cache (bf16 / fp8, kernels/attention_tc.cuh). */
    public boolean tensorCoreAttentionApplies() {
        return pass.tensorCoreAttentionApplies();
    }

    public long graphLaunches() {
        return graphLaunches;
    }

    public long eagerSteps() {
        return eagerSteps;
    }

    /** Routing replay and scoring run in the step's kernels (ReplayInputs; kernels/replay.cuh). */
    @Override
    public boolean supportsReplayInputs() {
        return true;
    }

    @Override
    public StepOutput forward(ForwardBatch batch) {
        dev.bind();
        List<SeqChunk> chunks = batch.chunks();
        int n = chunks.size();
        int T = batch.numTokens();
        if (n > ws.maxSeqs || T > ws.maxTokens) {
            throw new IllegalArgumentException("step of " + n + " sequences / " + T + " tokens exceeds the runner's "
                    + ws.maxSeqs + " / " + ws.maxTokens + " (EngineConfig maxNumSeqs / maxBatchTokens)");
        }
        // prompt-end logits: each sampling chunk's row of ws.logits, the computed ones first; a step that keeps or
        // is given a row runs eagerly (the graphs sample one computed row per chunk and copy no row), and so does a
        // step with forced routing or scoring (the decode graphs keep the free kernels)
        int[] sampleRows = LogitsRowStaging.sampleRows(chunks, c.vocabSize);
        boolean movesRows = LogitsRowStaging.movesRows(chunks);
        boolean replay = ReplayInputs.any(chunks);
        boolean decode = useGraphs && !forceEager && T == n && !movesRows && !replay;
        for (SeqChunk ch : chunks) {
            decode &= ch.sample();
        }
        int rows = decode ? DecodeBuckets.rows(n, ws.maxSeqs) : T;
        int stride = fillInputs(chunks, rows, decode, sampleRows);
        int S = decode ? rows : countSampled(chunks);
        int inWords = ws.offBlockTables + (decode ? rows : n) * stride;
        ReplayInputs rp = replay ? ReplayInputs.pack(chunks, c.numMoeLayers(), c.topK, c.numExperts, c.vocabSize,
                ws.inWords, inWords) : null;
        if (rp != null) {
            inWords = rp.endWord;
        }
        cuMemcpyHtoDAsync(ws.in, ws.inHost, 4L * inWords, dev.stream);
        if (movesRows) {
            logitsRows.enqueueGiven(chunks, sampleRows);
        }
        long outWords = 2L * ws.maxSeqs + (captureRouting ? (long) T * ws.routingWordsPerToken : 0);
        ForwardPass.Replay replayBuffers = rp == null ? null : new ForwardPass.Replay(
                rp.forced() ? ws.inAt(rp.offForcedRow) : null, ws.inAt(rp.offForcedIds), ws.outAt(outWords),
                ws.inAt(rp.offScoreRows), ws.inAt(rp.offScoreTargets), ws.outAt(outWords + rp.outScores()),
                rp.scoredRows);
        if (decode) {
            launchGraph(rows);
        } else {
            pass.enqueue(T, LogitsRowStaging.computedRows(chunks), S, captureRouting, replayBuffers);
            eagerSteps++;
        }
        if (movesRows) {
            logitsRows.enqueueKept(chunks, sampleRows);
        }
        if (replayBuffers != null && replayBuffers.scoredRows() > 0) {
            pass.enqueueScoring(replayBuffers);    // reuses ws.logits: after the sampled and kept rows are done
        }
        long replayOut = outWords;
        if (rp != null) {
            outWords += rp.outWords();
        }
        cuMemcpyDtoHAsync(ws.outHost, ws.out, 4 * outWords, dev.stream);
        dev.sync();
        StepOutput free = readOutputs(chunks, sampleRows, movesRows ? logitsRows.kept(chunks) : null);
        if (rp == null) {
            return free;
        }
        float[][] scores = new float[n][];
        byte[][] reproduced = new byte[n][];
        rp.read(chunks, ws.outWords, replayOut, scores, reproduced);
        return new StepOutput(free.sampledTokens(), free.logprobs(), free.routingIds(), free.routingWeights(), scores,
                reproduced, free.keptLogits());
    }

    private static int countSampled(List<SeqChunk> chunks) {
        int s = 0;
        for (SeqChunk ch : chunks) {
            if (ch.sample()) {
                s++;
            }
        }
        return s;
    }

    /** Packs the step's inputs into the pinned staging buffer; returns the block-table stride used. */
    private int fillInputs(List<SeqChunk> chunks, int rows, boolean padded, int[] sampleRows) {
        IntBuffer in = ws.inWords;
        int stride = 1;
        for (SeqChunk ch : chunks) {
            int need = (ch.startPos() + ch.length() + blockSize - 1) / blockSize;
            if (ch.blockTable().length < need) {
                throw new IllegalArgumentException("block table of " + ch.blockTable().length + " blocks cannot hold "
                        + (ch.startPos() + ch.length()) + " positions");
            }
            stride = Math.max(stride, need);
        }
        if (stride > ws.maxBlocksPerSeq) {
            throw new IllegalArgumentException("sequence needs " + stride + " K/V blocks, more than "
                    + ws.maxBlocksPerSeq);
        }
        int t = 0, s = 0;
        for (int i = 0; i < chunks.size(); i++) {
            SeqChunk ch = chunks.get(i);
            int[] bt = ch.blockTable();
            for (int j = 0; j < ch.length(); j++, t++) {
                int tok = ch.tokens()[j];
                if (tok < 0 || tok >= c.vocabSize) {
                    throw new IllegalArgumentException("token id " + tok + " outside the vocabulary of " + c.vocabSize);
                }
                int pos = ch.startPos() + j;
                int block = bt[pos / blockSize];
                if (block < 0 || block >= numBlocks) {
                    throw new IllegalArgumentException("K/V block id " + block + " outside 0.." + (numBlocks - 1));
                }
                in.put(ws.offTokens + t, tok);
                in.put(ws.offPositions + t, pos);
                in.put(ws.offSlots + t, block * blockSize + pos % blockSize);
                in.put(ws.offTokSeq + t, i);
            }
            for (int b = 0; b < stride; b++) {
                in.put(ws.offBlockTables + i * stride + b, b < bt.length ? bt[b] : numBlocks);
            }
            if (sampleRows[i] >= 0) { // a chunk sampling a given row has no position of its own: no row is computed for it
                putSampling(sampleRows[i], ch.sampleFrom() == null ? t - 1 : 0, ch.params(), ch.seed(), ch.sampleIndex());
                s++;
            }
        }
        in.put(ws.offMeta + Workspace.META_REAL_ROWS, t);
        if (padded) {
            for (int i = chunks.size(); i < rows; i++, t++) {
                in.put(ws.offTokens + t, 0);
                in.put(ws.offPositions + t, 0);
                in.put(ws.offSlots + t, numBlocks * blockSize);
                in.put(ws.offTokSeq + t, i);
                for (int b = 0; b < stride; b++) {
                    in.put(ws.offBlockTables + i * stride + b, numBlocks);
                }
                putSampling(s++, t, SamplingParams.greedy(1), 0L, 0);
            }
        }
        in.put(ws.offMeta + Workspace.META_STRIDE, stride);
        return stride;
    }

    private void putSampling(int s, int row, SamplingParams p, long seed, int index) {
        IntBuffer in = ws.inWords;
        in.put(ws.offSampleRows + s, row);
        int o = ws.offSampleParams + Workspace.SAMPLE_PARAMS * s;
        in.put(o, Float.floatToRawIntBits(p.temperature()));
        in.put(o + 1, Float.floatToRawIntBits(p.topP()));
        in.put(o + 2, p.topK());
        in.put(o + 3, (int) seed);
        in.put(o + 4, (int) (seed >>> 32));
        in.put(o + 5, index);
    }

    private void launchGraph(int rows) {
        int key = rows * 128 + (captureRouting ? 1 : 0) + (pass.kSplitGemm ? 2 : 0) + (pass.fmaAttention ? 4 : 0)
                + (pass.leanAttention ? 8 : 0) + (pass.routerTiles ? 16 : 0) + (pass.classSplitFrom > 0 ? 32 : 0)
                + (pass.classSplitFrom > 0 && pass.classFold == ClassSplitDense.Fold.CLUSTER ? 64 : 0);
        CUgraphExec exec = graphs.get(key);
        if (exec == null) {
            CUgraph graph = new CUgraph();
            cuStreamBeginCapture(dev.stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
            pass.enqueue(rows, rows, captureRouting);
            cuStreamEndCapture(dev.stream, graph);
            exec = new CUgraphExec();
            cuGraphInstantiate(exec, graph, 0);
            cuGraphDestroy(graph);
            graphs.put(key, exec);
        }
        cuGraphLaunch(exec, dev.stream);
        graphLaunches++;
    }

    /** The step's outputs per chunk; {@code kept}: the rows the chunks kept (null when the step kept none). */
    private StepOutput readOutputs(List<SeqChunk> chunks, int[] sampleRows, float[][] kept) {
        IntBuffer out = ws.outWords;
        int n = chunks.size();
        int[] tokens = new int[n];
        float[] logprobs = new float[n];
        int[][] ids = new int[n][];
        float[][] wts = new float[n][];
        int per = c.numMoeLayers() * c.topK;
        int wordsPerToken = ws.routingWordsPerToken;
        long base = 2L * ws.maxSeqs;
        int t = 0;
        for (int i = 0; i < n; i++) {
            SeqChunk ch = chunks.get(i);
            int s = sampleRows[i];
            if (s >= 0) {
                tokens[i] = out.get(s);
                logprobs[i] = Float.intBitsToFloat(out.get(ws.maxSeqs + s));
            } else {
                tokens[i] = -1;
                logprobs[i] = Float.NaN;
            }
            int len = ch.length();
            ids[i] = new int[len * per];
            wts[i] = new float[len * per];
            if (captureRouting) {
                for (int j = 0; j < len; j++, t++) {
                    int o = (int) (base + (long) t * wordsPerToken);
                    for (int q = 0; q < per; q++) {
                        ids[i][j * per + q] = out.get(o + q);
                        wts[i][j * per + q] = Float.intBitsToFloat(out.get(o + per + q));
                    }
                }
            } else {
                t += len;
            }
        }
        return kept == null ? new StepOutput(tokens, logprobs, ids, wts)
                : new StepOutput(tokens, logprobs, ids, wts, new float[n][], new byte[n][], kept);
    }

    @Override
    public void close() {
        dev.bind();
        for (CUgraphExec g : graphs.values()) {
            cuGraphExecDestroy(g);
        }
        graphs.clear();
        dev.close();
    }
}
