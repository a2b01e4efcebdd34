package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.kvcache.KvCacheDtype;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.attention.MlaAttention;
import jcuda.driver.CUdeviceptr;

import static jcuda.driver.JCudaDriver.cuMemsetD32;

/**
 * Enqueues one forward step on the stream: embedding, then per layer RMSNorm → QKV GEMM → q/k norm + RoPE + cache
 * write → paged attention (context split in partitions, merged) → O GEMM (+residual) → RMSNorm → router/top-k (writing the routing record) → grouping →
 * expert gate/up GEMM with SwiGLU → expert down GEMM → weighted combine (+residual); then final norm of the sampled
 * rows → lm_head → sampling. Up to 32 rows (decode at small batches) each MoE combine writes the next layer's
 * attention RMSNorm (moe_combine_rmsnorm) and the router norms its own row (router_topk_norm[_parts]), with the same
 * bits ({@link SmallRowKernels}). Nothing here synchronizes with the host, so the same sequence is captured into a
 * CUDA graph for decode steps. Sizes (tokens, sampled rows) are fixed per call; everything that varies per step is
 * read from device memory.
 */
final class ForwardPass {
    /** Weight rows per GEMM block: 16 (narrow), 64 for the wide store/residual and 32 for the wide gate/up pair. */
    private static final int NARROW_ROWS = 16, WIDE_ROWS = 64, WIDE_SWIGLU_ROWS = 32;
    /** Activation rows from which the wide variants (each activation load feeds more weight rows, so less L2
     *  traffic: ncu showed the batch-256 projections L2-bound) pay off. 128 rows per block measured slower. */
    private static final int WIDE_FROM_ROWS = 64, WIDE_FROM_TOKENS_PER_EXPERT = 8;
    /** Rows from which the dense QKV / lm_head products run on 24-row tiles (measured at 128 and 256). */
    private static final int PERSISTENT_24_FROM_ROWS = 128;
    /** Rows from which the dense products run on the output-tiled kernel (bench/cuda/gemm_bench.cu, H200): lm_head
     *  from 64 (-39 % at 64, -30 % at 128, -25 % at 256 rows), QKV and O from 256 (-7 % / -9 % at 256, -19 % /
     *  -39 % at 1,024; slower below 256, where too few blocks are left for the whole-K walk of each). */
    private static final int TILED_LM_HEAD_FROM_ROWS = 64;
    static final int TILED_FROM_ROWS = 256;
    /** Pairs per expert (on average) from which the expert products run on the output-tiled kernels over 32-pair
     *  tiles (bench/cuda/gemm_bench.cu, H200: gate/up -21 % / -40 % / -36 %, down -16 % / -31 % / -41 % at 512 /
     *  1,024 / 2,048 tokens against the persistent kernels; slower at 256 tokens = 16 pairs per expert). */
    private static final int TILED_EXPERTS_FROM_PAIRS_PER_EXPERT = 32;
    /** Pairs per expert (on average) from which the expert products run over 24-pair tiles: at 16 (batch 256)
     *  gate/up -7 %, down -11 % in bench/cuda/gemm_bench.cu (random routing); at 8 (batch 128) +12 % / +14 %. */
    private static final int WIDE_TILES_FROM_PAIRS_PER_EXPERT = 12;
    /** Rows up to which the MoE combine also writes the next layer's attention RMSNorm (moe_combine_rmsnorm) and
     *  the router norms its own row (router_topk_norm): same bits, one launch fewer per layer each (v20 measured
     *  the first slower at 256 rows). */
    static final int FUSED_COMBINE_NORM_MAX_ROWS = 32;
    /** Blocks per token of router_topk_norm_parts (v30 measured 4 best at 1-32 tokens). */
    private static final int ROUTER_PARTS = 4;
    /** The largest expert count router_topk_norm_parts takes (its 256 threads hold one logit each, as the
     *  1,024-thread router's do); router_topk_norm_parts_group's grouping arrays hold as many experts
     *  (ROUTER_PARTS_MAXE in kernels/router_norm.cuh: RouterGroupShapesTest). */
    static final int ROUTER_PARTS_MAX_EXPERTS = 256;
    /** The fused norms' row limit (kernels/moe_combine_norm.cuh, router_norm.cuh: 256 norm threads × RMS_CACHE 8). */
    private static final int FUSED_COMBINE_NORM_MAX_HIDDEN = 8 * 256;

    private final CudaDevice dev;
    private final ModelConfig c;
    private final DeviceWeights w;
    private final Workspace ws;
    /** The paged K/V cache (per layer); package-visible for {@link CudaKvSwap}. */
    final CUdeviceptr[] kCache, vCache;
    private final int blockSize;
    private final String kvSuffix;
    /** The attention with cp.async-staged K/V (any cache dtype, head_dim 16/32/64/128; grid (kv heads × head groups,
     *  tokens, z)), or null where only the block version (grid (tokens, kv heads × head groups, z)) applies. Both
     *  give bit-identical partials. */
    private final String stagedAttention, blockAttentionKernel;
    /** The lean staged attention (kernels/attention_staged_lean.cuh) for this shape, or null where it does not apply
     *  ({@link #leanAttentionEntry}): where it applies it runs in place of {@link #stagedAttention}, with the same
     *  bits (docs/cuda-notes.md v45). */
    private final String leanAttentionKernel;
    /** Run the lean staged attention where it applies (the default); false runs the staged entry it replaces (the
     *  A/B, also -D{@value #LEAN_ATTENTION_PROPERTY}=off). {@link #blockAttention} and the tensor-core attention
     *  take precedence over both. */
    boolean leanAttention;
    static final String LEAN_ATTENTION_PROPERTY = "routingreplay.cuda.leanAttention";
    /** The lean entries' dynamic shared memory: a ring of 3 stages of 8 KB (SATT_LEAN_RING_BYTES). With their
     *  13.1 KB of static arrays a block stays under the 48 KB that needs no opt-in (LeanAttentionTest checks the PTX),
     *  and CudaDevice gives every attention_staged* entry the largest carveout: 5 blocks per multiprocessor. */
    static final int LEAN_RING_BYTES = 3 * 2048 * 4;

    static boolean isLeanAttention(String property) {
        return !"off".equals(property);
    }
    /** Launch groups of at most 8 query heads per K/V head (kernels/attention.cuh attHeadGroups): 1 up to 8. */
    private final int attentionHeadGroups;
    /** Use the block version even where the staged one applies (the benchmark's bitwise A/B; also
     *  -D{@value #ATTENTION_PROPERTY}=block). */
    boolean blockAttention;
    static final String ATTENTION_PROPERTY = "routingreplay.cuda.attention";
    /** The tensor-core attention for a bf16 / fp8 cache (kernels/attention_tc.cuh), or null where it does not apply
     *  (fp32 K/V, MLA, other head sizes). */
    private final TensorCoreAttention tensorCoreAttention;
    /** Run the fp32-FMA attention (staged, or block where {@link #blockAttention}) even where the tensor-core one
     *  applies: the A/B timing and {@link CudaModelRunner#referenceKernelsAgree}'s staged = block comparison
     *  (-D{@value #ATTENTION_PROPERTY}=fma; =block implies it). The default: the tensor-core kernels pass the GPU
     *  checks but decode slower (docs/cuda-notes.md v37), so they run only with -D{@value #ATTENTION_PROPERTY}=tc. */
    boolean fmaAttention;

    static boolean isFmaAttention(String property) {
        return !"tc".equals(property);
    }

    /** Sets the switches the A/Bs flip (block / FMA / lean attention, K-split GEMMs) to what the system properties
     *  say: at start, and after an A/B ({@link CudaModelRunner#resetKernelSwitches}). */
    void readSwitches() {
        blockAttention = "block".equals(System.getProperty(ATTENTION_PROPERTY));
        leanAttention = isLeanAttention(System.getProperty(LEAN_ATTENTION_PROPERTY));
        fmaAttention = isFmaAttention(System.getProperty(ATTENTION_PROPERTY));
        kSplitGemm = "ksplit".equals(System.getProperty(GEMM_PROPERTY));
        classSplitFrom = ClassSplitDense.fromRows(System.getProperty(ClassSplitDense.PROPERTY));
        classFold = ClassSplitDense.fold(System.getProperty(ClassSplitDense.FOLD_PROPERTY));
        routerTiles = RouterTiles.enabled(System.getProperty(RouterTiles.PROPERTY));
    }
    /** Above {@value #FUSED_COMBINE_NORM_MAX_ROWS} rows, the MoE norm + router over tiles of tokens
     *  ({@link RouterTiles}; the same bits), where {@link #routerLogits} was sized for it at start. */
    boolean routerTiles;
    /** Dense products from this many rows up to {@value #TILED_FROM_ROWS} on the class-split kernels
     *  ({@link ClassSplitDense}; the same bits), where {@link #classPartials} exists; 0: off. */
    int classSplitFrom;
    /** Where the class-split products add their class sums (-D{@value ClassSplitDense#FOLD_PROPERTY}). */
    ClassSplitDense.Fold classFold;
    /** The class sums' workspace [8][rows][n] (allocated when the switch is on at start), or null. */
    private final CUdeviceptr classPartials;
    /** The widest product the class split serves ({@link ClassSplitDense#maxOutputs}). */
    private final int classMaxOutputs;
    /** Use only the K-split GEMMs, never the persistent or tiled ones (bitwise A/B; also
     *  -D{@value #GEMM_PROPERTY}=ksplit). */
    boolean kSplitGemm;
    static final String GEMM_PROPERTY = "routingreplay.cuda.gemm";
    /** The small-batch kernels used up to {@value #FUSED_COMBINE_NORM_MAX_ROWS} rows (the fused norms and router);
     *  all of them unless -D{@value SmallRowKernels#PROPERTY} says otherwise (on, off, or a list of parts).
     *  The K-split A/B ({@link #kSplitGemm}) turns them all off. */
    final SmallRowKernels small = SmallRowKernels.fromSystemProperty();
    /** router_topk_norm_parts' and router_topk_norm_tiles' logits [rows][E] and arrival counters per token / tile
     *  (zero between launches), or null where neither runs. */
    private final CUdeviceptr routerLogits, routerArrivals;
    /** The rows {@link #routerLogits} holds (0 where null): the tiled router runs only at steps within it. */
    private final int routerLogitRows;
    /** router_topk_norm_{parts,tiles}_group's one step-wide counter of finished tokens / tiles (zero between
     *  launches: the last resets it), or null where the grouping never runs inside the router. */
    private final CUdeviceptr routerStepArrival;
    /** Blocks of the persistent GEMMs' grids (as many as stay resident). */
    private final int gateUpBlocks, gateUp24Blocks, storeBlocks, store24Blocks;
    /** Multiprocessors of the device. */
    private final int sms;
    /** Rotated dims per head where the config has q/k/v bias or partial rotary (then qkv_bias_norm_rope_kv runs
     *  in place of qk_norm_rope_kv), else 0. */
    private final int extendedQkvRotaryDim;
    /** router_grouped's arguments where the router is not unscaled softmax top-k (else router_topk runs). */
    private final GroupedRouter groupedRouter;
    /** The MLA attention's launches for an MLA config (DeepSeek-V2 / V3), else null (GQA). */
    private final MlaAttentionStep mla;

    ForwardPass(CudaDevice dev, ModelConfig c, DeviceWeights w, Workspace ws, CUdeviceptr[] kCache,
                CUdeviceptr[] vCache, int blockSize, KvCacheDtype kvType) {
        readSwitches();
        this.dev = dev;
        this.c = c;
        this.w = w;
        this.ws = ws;
        this.kCache = kCache;
        this.vCache = vCache;
        this.blockSize = blockSize;
        this.kvSuffix = kvType == KvCacheDtype.FP32 ? "" : "_" + kvType.flag();
        int d = c.headDim, g = c.numHeads / c.numKvHeads;
        this.sms = dev.attribute(jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        this.gateUpBlocks = PersistentGemm.GATE_UP.residentBlocks(dev, sms);
        this.gateUp24Blocks = PersistentGemm.GATE_UP_24.residentBlocks(dev, sms);
        this.storeBlocks = PersistentGemm.STORE.residentBlocks(dev, sms);
        this.store24Blocks = PersistentGemm.STORE_24.residentBlocks(dev, sms);
        // more than 8 query heads per K/V head (GLM-4.5's 12): the *_grouped entries, over head groups of <= 8
        this.attentionHeadGroups = attentionHeadGroups(g);
        String grouped = attentionHeadGroups > 1 ? "_grouped" : "";
        this.blockAttentionKernel = "attention" + grouped + kvSuffix;
        this.stagedAttention = d == 16 || d == 32 || d == 64 || d == 128
                ? "attention_staged_d" + d + kvSuffix + grouped : null;
        this.leanAttentionKernel = leanAttentionEntry(d, c.numHeads, c.numKvHeads, kvSuffix);
        this.extendedQkvRotaryDim = extendedQkvRotaryDim(c);
        this.groupedRouter = GroupedRouter.of(c);
        boolean partsRun = small.routerParts(), tilesRun = routerTiles && !kSplitGemm; // readSwitches ran
        if (groupedRouter == null && c.numExperts <= ROUTER_PARTS_MAX_EXPERTS && (partsRun || tilesRun)) {
            int rows = tilesRun ? Math.max(ws.maxTokens, FUSED_COMBINE_NORM_MAX_ROWS) : FUSED_COMBINE_NORM_MAX_ROWS;
            this.routerLogits = dev.alloc(4L * rows * c.numExperts);
            this.routerArrivals = dev.alloc(4L * rows);           // one per token, or per tile (fewer)
            this.routerLogitRows = rows;
            cuMemsetD32(routerArrivals, 0, rows);
        } else {
            this.routerLogits = null;
            this.routerArrivals = null;
            this.routerLogitRows = 0;
        }
        if (routerLogits != null && (small.routerGroup() || tilesRun)) {
            this.routerStepArrival = dev.alloc(4L);
            cuMemsetD32(routerStepArrival, 0, 1);
        } else {
            this.routerStepArrival = null;
        }
        // readSwitches ran
        long classBytes = ClassSplitDense.workspaceBytes(c, TILED_FROM_ROWS, classSplitFrom, classFold);
        this.classMaxOutputs = ClassSplitDense.maxOutputs(c);
        this.classPartials = classBytes > 0 ? dev.alloc(classBytes) : null;
        this.mla = c.attention instanceof MlaAttention a
                ? new MlaAttentionStep(dev, c, a, w, ws, blockSize, kvSuffix) : null;
        this.tensorCoreAttention = mla == null ? TensorCoreAttention.of(kvType, d, g) : null;
    }

    /** Groups of at most 8 query heads per K/V head the attention kernels run (kernels/attention.cuh attHeadGroups). */
    static int attentionHeadGroups(int queryHeadsPerKvHead) {
        return (queryHeadsPerKvHead + 7) / 8;
    }

    /** The lean staged attention's entry for a GQA shape (kvSuffix: "", "_bf16" or "_fp8"), or null: it is compiled
     *  for head_dim 128 with exactly 8 query heads per K/V head (kernels/attention_staged_lean.cuh; it traps on
     *  any other head count), every other shape keeps the staged entries. */
    static String leanAttentionEntry(int headDim, int numHeads, int numKvHeads, String kvSuffix) {
        return headDim == 128 && numKvHeads > 0 && numHeads == 8 * numKvHeads
                ? "attention_staged_lean_d128g8" + kvSuffix : null;
    }

    /** The staged attention entry the step launches (the lean one where it applies and is on), or null where only
     *  the block kernel applies. */
    String stagedAttentionKernel() {
        return leanAttention && leanAttentionKernel != null ? leanAttentionKernel : stagedAttention;
    }

    /** Whether the lean staged attention applies to this model and cache at all (whatever the switches say). */
    boolean leanAttentionApplies() {
        return leanAttentionKernel != null;
    }

    /** The rotary width qkv_bias_norm_rope_kv gets where the config has q/k/v bias or partial rotary; 0 where
     *  qk_norm_rope_kv runs (every config without either: their launches stay what they were). */
    static int extendedQkvRotaryDim(ModelConfig c) {
        if (!(c.attention instanceof GqaAttention gqa)) {
            return 0;   // MLA: MlaAttentionStep
        }
        return gqa.qkvBias() || gqa.rotaryDim() != gqa.headDim() ? gqa.rotaryDim() : 0;
    }

    /**
     * @param T              tokens in the step (rows of the activations)
     * @param S              sampled rows (0: no lm_head / sampling)
     * @param captureRouting write the routing record into the output buffer (off only for the benchmark's A/B)
     */
    void enqueue(int T, int S, boolean captureRouting) {
        enqueue(T, S, S, captureRouting);
    }

    /**
     * As {@link #enqueue(int, int, boolean)} where only the first {@code computed} of the S sampled rows are computed
     * (final RMSNorm + lm_head); the rows after them hold logits copied in before the step (prompt-end logits,
     * {@link LogitsRowStaging}), and {@code sample_tokens} runs over all S. With T = 0 (every chunk samples from a
     * given row) no layer runs.
     */
    void enqueue(int T, int computed, int S, boolean captureRouting) {
        enqueue(T, computed, S, captureRouting, null);
    }

    /**
     * A step's routing-replay and scoring buffers (device addresses inside the step's input and output buffers,
     * {@link ReplayInputs}).
     *
     * @param forcedRow    per token its row of forced ids or -1; null when no token of the step is forced (the
     *                     routers are then the free ones)
     * @param forcedIds    the forced rows [row][moe layer][k]
     * @param reproduced   receives per forced row and MoE layer how many forced ids the free router picked too
     * @param scoreRows    the token index of each scored row
     * @param scoreTargets the token whose logprob each scored row is asked for
     * @param scores       receives the scored logprobs
     * @param scoredRows   how many rows are scored (0: none)
     */
    record Replay(CUdeviceptr forcedRow, CUdeviceptr forcedIds, CUdeviceptr reproduced, CUdeviceptr scoreRows,
                  CUdeviceptr scoreTargets, CUdeviceptr scores, int scoredRows) {
    }

    /**
     * As {@link #enqueue(int, int, int, boolean)}, with routing replay where {@code replay} forces tokens (null: the
     * free step, the launches {@link #enqueue(int, int, int, boolean)} makes): router_topk_forced /
     * router_grouped_forced for every token of the step (the others with forcedRow -1, routed as the free kernels
     * route them). Scoring is {@link #enqueueScoring}, enqueued after the step's sampled rows are done with the
     * logits buffer.
     */
    void enqueue(int T, int computed, int S, boolean captureRouting, Replay replay) {
        boolean forced = replay != null && replay.forcedRow() != null;
        int H = c.hiddenSize, K = c.topK, E = c.numExperts;
        float eps = c.rmsNormEps;
        boolean wideMoe = (long) T * K >= (long) WIDE_FROM_TOKENS_PER_EXPERT * E;
        CUdeviceptr tokens = ws.inAt(ws.offTokens), positions = ws.inAt(ws.offPositions), slots = ws.inAt(ws.offSlots);
        CUdeviceptr tokSeq = ws.inAt(ws.offTokSeq), meta = ws.inAt(ws.offMeta), bt = ws.inAt(ws.offBlockTables);
        // the step's real rows (Workspace.META_REAL_ROWS): the grouping puts a padding row's pairs under row 0's
        // experts (kernels/group_by_expert.cuh)
        CUdeviceptr realRows = ws.inAt(ws.offMeta + Workspace.META_REAL_ROWS);
        CUdeviceptr routingOut = captureRouting ? ws.outAt(2L * ws.maxSeqs) : null;
        long zero = 0L;

        if (T > 0) {
            dev.launch("embed", T, 1, 256, tokens, w.embedding, ws.x, H);
        }
        // the previous layer's MoE combine already wrote this layer's attention RMSNorm (moe_combine_rmsnorm)
        boolean attnNormDone = false;
        for (int l = 0; l < c.numLayers && T > 0; l++) { // T is 0 when every chunk samples from a given row
            DeviceWeights.Layer lw = w.layers[l];
            // the GEMMs read split rows (kernels.cu storeSplit), written once here rather than in every GEMM block
            if (!attnNormDone) {
                dev.launch("rmsnorm", T, 1, 256, ws.x, null, lw.attnNorm, null, ws.xnSplit, H, eps);
            }
            attnNormDone = false;
            if (mla != null) {  // the one branch on the attention kind (MLA: DeepSeek-V2 / V3)
                mla.enqueue(this, l, T, positions, slots, tokSeq, meta, bt, kCache[l], vCache[l], blockAttention);
            } else {
                gqaAttention(l, lw, T, S, positions, slots, tokSeq, meta, bt);
            }
            // fp32 for the router, split rows for the expert (or dense) gate/up product; at few rows the router
            // norms its own row (router_topk_norm), above them (with the switch) its tiles' rows (router_tiles.cuh)
            boolean routerNorms = lw.moe && fuseRouterNorm(T, forced);
            boolean tiledRouter = lw.moe && !routerNorms && tiledRouter(T, forced);
            if (!routerNorms && !tiledRouter) {
                dev.launch("rmsnorm", T, 1, 256, ws.x, null, lw.ffnNorm, ws.xn, ws.xnSplit, H, eps);
            }
            if (lw.moe) {
                int I = c.moeIntermediateSize;
                // persistent kernels need whole 32-wide k chunks; else (and for the A/B) the K-split ones
                boolean persistent = !kSplitGemm && H % 32 == 0 && I % 32 == 0;
                int maxTiles = Workspace.maxTiles(c, T);
                // 1,024 threads take one block per multiprocessor (54 registers): 512 once the tokens outnumber
                // the multiprocessors (at 256 tokens 1,024 took two waves). The block sums are the same for both
                // only while every thread holds at most one logit, hence E <= 512 (batch invariance)
                int routerThreads = T > sms && E <= 512 ? 512 : 1024;
                // prefill-sized steps: output-tiled expert products over 32-pair tiles; else, with most experts
                // above 16 pairs, the persistent ones over 24-pair tiles (one where 16-pair tiles take two)
                boolean tiledExperts = !kSplitGemm && (long) T * K >= (long) TILED_EXPERTS_FROM_PAIRS_PER_EXPERT * E;
                boolean wideTiles = !tiledExperts && persistent
                        && (long) T * K >= (long) WIDE_TILES_FROM_PAIRS_PER_EXPERT * E;
                int tile2 = tiledExperts ? TiledGemm.SWIGLU.tokens() : wideTiles ? Workspace.GEMM_TILE_WIDE : 0;
                // at few rows the step's last token to finish groups the pairs in the router's launch (v42)
                boolean groupInRouter = routerStepArrival != null
                        && ((routerNorms && small.routerParts() && small.routerGroup())
                            || (tiledRouter && RouterTiles.groupsInLaunch(T)));
                if (tiledRouter && groupInRouter) {
                    dev.launch3("router_topk_norm_tiles_group", RouterTiles.tiles(T), RouterTiles.PARTS, 1, 256, ws.x,
                            lw.ffnNorm, eps, ws.xnSplit, lw.router, T, E, H, K, c.normTopkProb ? 1 : 0, c.moeSlot(l),
                            c.numMoeLayers(), ws.topIds, ws.topW, routingOut, routerLogits, routerArrivals,
                            routerStepArrival, Workspace.GEMM_TILE, tile2, ws.rankTmp, ws.sortedTok, ws.pairSlot,
                            ws.tiles, ws.numTiles, ws.tilesWide, ws.numTilesWide, realRows);
                } else if (tiledRouter) {
                    dev.launch3("router_topk_norm_tiles", RouterTiles.tiles(T), RouterTiles.PARTS, 1, 256, ws.x,
                            lw.ffnNorm, eps, ws.xnSplit, lw.router, T, E, H, K, c.normTopkProb ? 1 : 0, c.moeSlot(l),
                            c.numMoeLayers(), ws.topIds, ws.topW, routingOut, routerLogits, routerArrivals);
                } else if (groupInRouter) {
                    dev.launch3("router_topk_norm_parts_group", T, ROUTER_PARTS, 1, 256, ws.x, lw.ffnNorm, eps,
                            ws.xnSplit, lw.router, E, H, K, c.normTopkProb ? 1 : 0, c.moeSlot(l), c.numMoeLayers(),
                            ws.topIds, ws.topW, routingOut, routerLogits, routerArrivals, routerStepArrival,
                            Workspace.GEMM_TILE, tile2, ws.rankTmp, ws.sortedTok, ws.pairSlot, ws.tiles,
                            ws.numTiles, ws.tilesWide, ws.numTilesWide, realRows);
                } else if (routerNorms && small.routerParts() && routerLogits != null) {   // the experts over ROUTER_PARTS blocks per token
                    dev.launch3("router_topk_norm_parts", T, ROUTER_PARTS, 1, 256, ws.x, lw.ffnNorm, eps, ws.xnSplit,
                            lw.router, E, H, K, c.normTopkProb ? 1 : 0, c.moeSlot(l), c.numMoeLayers(), ws.topIds,
                            ws.topW, routingOut, routerLogits, routerArrivals);
                } else if (routerNorms) {
                    dev.launch("router_topk_norm", T, 1, 1024, ws.x, lw.ffnNorm, eps, ws.xnSplit, lw.router, E, H, K,
                            c.normTopkProb ? 1 : 0, c.moeSlot(l), c.numMoeLayers(), ws.topIds, ws.topW, routingOut);
                } else if (groupedRouter == null && forced) {
                    dev.launch("router_topk_forced", T, 1, routerThreads, ws.xn, lw.router, E, H, K,
                            c.normTopkProb ? 1 : 0, c.moeSlot(l), c.numMoeLayers(), ws.topIds, ws.topW, routingOut,
                            replay.forcedRow(), replay.forcedIds(), replay.reproduced());
                } else if (groupedRouter == null) {
                    dev.launch("router_topk", T, 1, routerThreads, ws.xn, lw.router, E, H, K, c.normTopkProb ? 1 : 0,
                            c.moeSlot(l), c.numMoeLayers(), ws.topIds, ws.topW, routingOut);
                } else if (forced) {
                    GroupedRouter r = groupedRouter;
                    dev.launch("router_grouped_forced", T, 1, routerThreads, ws.xn, lw.router, lw.routerBias,
                            lw.sharedGateRow, E, H, K, r.kind(), r.nGroup(), r.topkGroup(), r.normTopk(), r.normEps(),
                            r.scaling(), c.moeSlot(l), c.numMoeLayers(), ws.topIds, ws.topW, ws.sharedGate, routingOut,
                            replay.forcedRow(), replay.forcedIds(), replay.reproduced());
                } else {    // group limit, sigmoid + correction bias, routed scaling, Qwen2-MoE's shared-expert gate
                    GroupedRouter r = groupedRouter;
                    dev.launch("router_grouped", T, 1, routerThreads, ws.xn, lw.router, lw.routerBias,
                            lw.sharedGateRow, E, H, K, r.kind(), r.nGroup(), r.topkGroup(), r.normTopk(), r.normEps(),
                            r.scaling(), c.moeSlot(l), c.numMoeLayers(), ws.topIds, ws.topW, ws.sharedGate, routingOut);
                }
                if (!groupInRouter) {
                    dev.launch("group_by_expert", 1, 1, 1024, ws.topIds, T * K, K, E, Workspace.GEMM_TILE, tile2,
                            ws.rankTmp, ws.sortedTok, ws.pairSlot, ws.tiles, ws.numTiles, ws.tilesWide,
                            ws.numTilesWide, realRows);
                }
                if (tiledExperts) {
                    // at most one partial tile per expert beyond the full ones; blocks past the step's count return
                    int tiles32 = ceil(T * K, TiledGemm.SWIGLU.tokens()) + E;
                    tiled(TiledGemm.SWIGLU, tiles32, I, ws.xnSplit, H, ws.sortedTok, lw.gate, lw.up, (long) I * H,
                            I, H, ws.act, I, ws.tilesWide, ws.numTilesWide, 0);
                    tiled(TiledGemm.STORE, tiles32, H, ws.act, I, null, lw.down, (long) H * I, H, I, ws.ySorted, H,
                            ws.tilesWide, ws.numTilesWide, 0);
                } else if (wideTiles) {
                    persistent(PersistentGemm.GATE_UP_24, gateUp24Blocks, ws.xnSplit, H, ws.sortedTok, lw.gate, lw.up,
                            (long) I * H, I, H, ws.act, I, ws.tilesWide, ws.numTilesWide, 0);
                    persistent(PersistentGemm.STORE_24, store24Blocks, ws.act, I, null, lw.down, (long) H * I, H, I,
                            ws.ySorted, H, ws.tilesWide, ws.numTilesWide, 0);
                } else if (persistent) {
                    persistent(PersistentGemm.GATE_UP, gateUpBlocks,
                            ws.xnSplit, H, ws.sortedTok, lw.gate, lw.up, (long) I * H, I, H, ws.act, I, ws.tiles, ws.numTiles, 0);
                    persistent(PersistentGemm.STORE, storeBlocks,
                            ws.act, I, null, lw.down, (long) H * I, H, I, ws.ySorted, H, ws.tiles, ws.numTiles, 0);
                } else {
                    dev.launch(name("gemm_swiglu", wideMoe), maxTiles, ceil(I, rows(wideMoe, true)), 256,
                            ws.xnSplit, H, ws.sortedTok, lw.gate, lw.up, (long) I * H, I, H, ws.act, I, ws.tiles, ws.numTiles, 0);
                    dev.launch(name("gemm_store", wideMoe), maxTiles, ceil(H, rows(wideMoe, false)), 256,
                            ws.act, I, null, lw.down, (long) H * I, H, I, ws.ySorted, H, ws.tiles, ws.numTiles, 0);
                }
                if (lw.sharedGate == null && fuseCombineNorm(T, l)) {
                    dev.launch("moe_combine_rmsnorm", T, 1, 256, ws.x, ws.ySorted, ws.pairSlot, ws.topW, K, H,
                            w.layers[l + 1].attnNorm, null, ws.xnSplit, eps);
                    attnNormDone = true;
                } else if (lw.sharedGate == null) {
                    dev.launch("moe_combine", T, 1, 256, ws.x, ws.ySorted, ws.pairSlot, ws.topW, K, H);
                } else {
                    // the shared experts: one dense SwiGLU block over every row (act is free again: the routed
                    // down product has read it), added with the routed sum (scaled by Qwen2-MoE's gate) in the combine
                    int Is = c.sharedExpertIntermediateSize;
                    dense("gemm_swiglu", T, Is, ws.xnSplit, H, null, lw.sharedGate, lw.sharedUp, zero, Is, H, ws.act,
                            Is, null, null, T);
                    denseStore(T, H, ws.act, Is, lw.sharedDown, ws.sharedOut, false, TILED_FROM_ROWS);
                    dev.launch("moe_combine_shared", T, 1, 256, ws.x, ws.ySorted, ws.pairSlot, ws.topW, K, H,
                            ws.sharedOut, lw.sharedGateRow == null ? null : ws.sharedGate);
                }
            } else {
                int I = c.denseIntermediateSize;
                dense("gemm_swiglu", T, I, ws.xnSplit, H, null, lw.gate, lw.up, zero, I, H, ws.act, I, null, null, T);
                denseResidual(T, H, ws.act, I, lw.down, ws.x);
            }
        }
        if (computed > 0) {
            dev.launch("rmsnorm", computed, 1, 256, ws.x, ws.inAt(ws.offSampleRows), w.finalNorm, null, ws.finalX, H,
                    eps);
            denseStore(computed, c.vocabSize, ws.finalX, H, w.lmHead, ws.logits, true, TILED_LM_HEAD_FROM_ROWS);
        }
        if (S > 0) {
            dev.launch("sample_tokens", S, 1, 1024, ws.logits, c.vocabSize, ws.inAt(ws.offSampleParams),
                    ws.outAt(0), ws.outAt(ws.maxSeqs));
        }
    }

    /**
     * Scoring: the sampled rows' kernels over the step's scored rows of x — final RMSNorm (rows by index), lm_head,
     * score_tokens — in groups of at most maxSeqs rows (the logits buffer's; each row's bits do not depend on the
     * group). Enqueued after {@link #enqueue} and after any kept logits row is copied out, since it reuses the
     * logits buffer; x still holds the step's last hidden states.
     */
    void enqueueScoring(Replay replay) {
        int H = c.hiddenSize;
        for (int b = 0; b < replay.scoredRows(); b += ws.maxSeqs) {
            int n = Math.min(ws.maxSeqs, replay.scoredRows() - b);
            dev.launch("rmsnorm", n, 1, 256, ws.x, replay.scoreRows().withByteOffset(4L * b), w.finalNorm, null,
                    ws.finalX, H, c.rmsNormEps);
            denseStore(n, c.vocabSize, ws.finalX, H, w.lmHead, ws.logits, true, TILED_LM_HEAD_FROM_ROWS);
            dev.launch("score_tokens", n, 1, 1024, ws.logits, c.vocabSize,
                    replay.scoreTargets().withByteOffset(4L * b), replay.scores().withByteOffset(4L * b));
        }
    }

    /** Whether the step's attention runs on the tensor-core kernels (bf16 / fp8 K/V, unless forced off). */
    boolean usesTensorCoreAttention() {
        return tensorCoreAttentionApplies() && !fmaAttention && !blockAttention;
    }

    /** Whether the tensor-core attention applies to this model and cache at all (whatever the switches say). */
    boolean tensorCoreAttentionApplies() {
        return tensorCoreAttention != null;
    }

    /** Layer l's GQA self-attention: the QKV product, q/k norm + RoPE + K/V cache rows, attention, O + residual.
     *  S (the step's sampled rows) only picks the tensor-core attention's decode or prefill entry (same bits). */
    private void gqaAttention(int l, DeviceWeights.Layer lw, int T, int S, CUdeviceptr positions, CUdeviceptr slots,
                              CUdeviceptr tokSeq, CUdeviceptr meta, CUdeviceptr bt) {
        int H = c.hiddenSize;
        int qkvDim = c.qDim() + 2 * c.kvDim();
        float eps = c.rmsNormEps;
        int qkMode = c.qkNorm == QkNorm.NONE ? 0 : c.qkNorm == QkNorm.PER_HEAD ? 1 : 2;
        float scale = (float) (1.0 / Math.sqrt(c.headDim));
        denseStore(T, qkvDim, ws.xnSplit, H, lw.wqkv, ws.qkv, false, TILED_FROM_ROWS);
        // one warp per q, k or v head (kernels.cu QKR_THREADS = 256 threads)
        if (extendedQkvRotaryDim == 0) {
            dev.launch("qk_norm_rope_kv" + kvSuffix, T, ceil(c.numHeads + 2 * c.numKvHeads, 8), 256, ws.qkv,
                    positions, slots, lw.qNorm, lw.kNorm, qkMode, eps,
                    ws.invFreq, ws.q, kCache[l], vCache[l], c.numHeads, c.numKvHeads, c.headDim);
        } else {    // + q/k/v bias, RoPE on the first rotaryDim dims (Qwen2-MoE, GLM-4.5)
            dev.launch("qkv_bias_norm_rope_kv" + kvSuffix, T, ceil(c.numHeads + 2 * c.numKvHeads, 8), 256,
                    ws.qkv, positions, slots, lw.qNorm, lw.kNorm, qkMode, eps, ws.invFreq, ws.q, lw.qkvBias,
                    extendedQkvRotaryDim, kCache[l], vCache[l], c.numHeads, c.numKvHeads, c.headDim);
        }
        String stagedKernel = blockAttention ? null : stagedAttentionKernel();
        boolean staged = stagedKernel != null;
        int kvGroups = c.numKvHeads * attentionHeadGroups;
        if (usesTensorCoreAttention()) {
            tensorCoreAttention.launch(dev, T, S, c.numKvHeads, Workspace.ATT_SPLITS, ws.q, kCache[l], vCache[l],
                    tokSeq, positions, bt, meta, blockSize, c.numHeads, c.numKvHeads, c.headDim, scale, ws.attnPart);
        } else {
            // the lean entry's ring is dynamic shared memory; the other entries' arrays are all static
            dev.launchShared(staged ? stagedKernel : blockAttentionKernel, staged ? kvGroups : T,
                    staged ? T : kvGroups, Workspace.ATT_SPLITS, 128,
                    staged && stagedKernel.equals(leanAttentionKernel) ? LEAN_RING_BYTES : 0, ws.q, kCache[l],
                    vCache[l], tokSeq, positions, bt, meta, blockSize, c.numHeads, c.numKvHeads, c.headDim, scale,
                    ws.attnPart);
        }
        dev.launch("attention_combine", T, ceil(c.numHeads, 8), 256, ws.attnPart, positions, c.numHeads, c.headDim, ws.attn);
        denseResidual(T, H, ws.attn, c.qDim(), lw.wo, ws.x);
    }

    /** Y[t][n] = W[n] · X[t] for a projection in front of attention (MlaAttentionStep), chosen as the QKV product's. */
    void projection(int t, int n, CUdeviceptr x, int k, CUdeviceptr wt, CUdeviceptr y) {
        denseStore(t, n, x, k, wt, y, false, TILED_FROM_ROWS);
    }

    /** Y[t][n] += W[n] · X[t] for an attention output projection (MlaAttentionStep), as the O product's. */
    void outputProjection(int t, int n, CUdeviceptr x, int k, CUdeviceptr wt, CUdeviceptr y) {
        denseResidual(t, n, x, k, wt, y);
    }

    /**
     * A dense product over {@code t} activation rows, {@code n} outputs: the narrow or wide K-split kernel. Both
     * give bit-identical results (same reduction order per output), so choosing by size keeps outputs independent
     * of the batch.
     */
    private void dense(String kernel, int t, int n, Object... args) {
        boolean wide = t >= WIDE_FROM_ROWS;
        dev.launch(name(kernel, wide), ceil(t, Workspace.GEMM_TILE), ceil(n, rows(wide, kernel.equals("gemm_swiglu"))),
                256, args);
    }

    /**
     * Y[t][n] = W[n] · X[t] over {@code t} rows (QKV, lm_head), on the kernel that measured fastest for the size in
     * bench/cuda/gemm_bench.cu (H200): the output-tiled one from {@code tiledFrom} rows; below, the persistent one
     * over 24-row tiles from {@value #PERSISTENT_24_FROM_ROWS} rows (QKV -12 to -16 %) and, where
     * {@code persistentBelow}, over 16-row tiles (lm_head -3 to -15 %; QKV measured equal there and stays on the
     * K-split kernel). All give the same bits.
     */
    private void denseStore(int t, int n, CUdeviceptr x, int k, CUdeviceptr wt, CUdeviceptr y, boolean persistentBelow,
                            int tiledFrom) {
        boolean persistentOk = !kSplitGemm && k % 32 == 0;
        if (!kSplitGemm && t >= tiledFrom) {
            tiledDense(TiledGemm.STORE, t, n, x, k, wt, y);
        } else if (classSplit(t, n, k)) {
            classSplitDense(false, t, n, x, k, wt, y);
        } else if (persistentOk && t >= PERSISTENT_24_FROM_ROWS) {
            persistent(PersistentGemm.STORE_24, store24Blocks, x, k, null, wt, 0L, n, k, y, n, null, null, t);
        } else if (persistentOk && persistentBelow) {
            persistent(PersistentGemm.STORE, storeBlocks, x, k, null, wt, 0L, n, k, y, n, null, null, t);
        } else {
            dense("gemm_store", t, n, x, k, null, wt, 0L, n, k, y, n, null, null, t);
        }
    }

    /** Y[t][n] += W[n] · X[t] (the O and dense down products, with the residual): K-split, or tiled from
     *  {@value #TILED_FROM_ROWS} rows; the same bits. */
    private void denseResidual(int t, int n, CUdeviceptr x, int k, CUdeviceptr wt, CUdeviceptr y) {
        if (!kSplitGemm && t >= TILED_FROM_ROWS) {
            tiledDense(TiledGemm.RESIDUAL, t, n, x, k, wt, y);
        } else if (classSplit(t, n, k)) {
            classSplitDense(true, t, n, x, k, wt, y);
        } else {
            dense("gemm_residual", t, n, x, k, null, wt, 0L, n, k, y, n, null, null, t);
        }
    }

    /** Whether layer l's MoE combine also writes layer l + 1's attention RMSNorm (few rows, a next layer, a row
     *  that moe_combine_rmsnorm holds). */
    private boolean fuseCombineNorm(int t, int l) {
        int H = c.hiddenSize;
        return !kSplitGemm && small.combineNorm() && t <= FUSED_COMBINE_NORM_MAX_ROWS && l + 1 < c.numLayers
                && H % 4 == 0 && H <= FUSED_COMBINE_NORM_MAX_HIDDEN && c.topK <= 32;
    }

    /** Whether the MoE block's RMSNorm runs inside the router (router_topk_norm: few rows, the free softmax top-k
     *  router, which takes 1,024 threads there too, a row that its 256 norm threads hold). */
    private boolean fuseRouterNorm(int t, boolean forced) {
        int H = c.hiddenSize;
        return !kSplitGemm && small.routerNorm() && !forced && groupedRouter == null && t <= FUSED_COMBINE_NORM_MAX_ROWS
                && t <= sms && H % 8 == 0 && H <= FUSED_COMBINE_NORM_MAX_HIDDEN;
    }

    /** Whether the MoE block's RMSNorm and router run over tiles of tokens (router_topk_norm_tiles: above the
     *  small-row kernels, the free softmax top-k router, E and H within its shared arrays). */
    private boolean tiledRouter(int t, boolean forced) {
        int H = c.hiddenSize;
        return routerTiles && t <= routerLogitRows && !kSplitGemm && !forced && groupedRouter == null
                && t > FUSED_COMBINE_NORM_MAX_ROWS && c.numExperts <= ROUTER_PARTS_MAX_EXPERTS && H % 8 == 0
                && H <= FUSED_COMBINE_NORM_MAX_HIDDEN;
    }

    /** Whether the class sums' workspace exists (the workspace fold was configured at start). */
    boolean classWorkspaceAllocated() {
        return classPartials != null;
    }

    /** Whether a dense product of {@code t} rows, {@code n} outputs, row length {@code k} runs class-split: the
     *  switch is on, t in [{@link #classSplitFrom}, {@value #TILED_FROM_ROWS}), n no wider than the products it is
     *  for ({@link ClassSplitDense#maxOutputs}: under either fold, so lm_head keeps its kernels and the fold A/B
     *  compares folds only), the workspace there for its fold, k % 8 == 0 (the tiled kernels' pieces). */
    private boolean classSplit(int t, int n, int k) {
        boolean fits = n <= classMaxOutputs
                && (classFold == ClassSplitDense.Fold.CLUSTER || classPartials != null);
        return !kSplitGemm && classSplitFrom > 0 && t >= classSplitFrom && t < TILED_FROM_ROWS && fits && k % 8 == 0;
    }

    /** Y[t][n] (=, or += with {@code residual}) W[n] · X[t], the 8 class sums added in class order: through a
     *  cluster in the one launch, or in {@link #classPartials} and then by a fold launch. */
    private void classSplitDense(boolean residual, int t, int n, CUdeviceptr x, int k, CUdeviceptr wt, CUdeviceptr y) {
        TiledGemm g = t <= TiledGemm.CLASSES_32.tokens() ? TiledGemm.CLASSES_32 : TiledGemm.CLASSES;
        int gx = ceil(t, g.tokens()), gy = ceil(n, g.rows());
        if (classFold == ClassSplitDense.Fold.CLUSTER) {
            dev.launchShared(ClassSplitDense.clusterEntry(g, residual), gx, gy, ClassSplitDense.CLASSES, g.threads(),
                    ClassSplitDense.clusterSharedBytes(g), x, k, null, wt, 0L, n, k, y, n, null, null, t);
            return;
        }
        dev.launchShared(g.name(), gx, gy, ClassSplitDense.CLASSES, g.threads(), g.sharedBytes(), x, k, null, wt, 0L,
                n, k, classPartials, n, null, null, t);
        dev.launch(residual ? "gemm_fold_classes_residual" : "gemm_fold_classes_store", ceil(t * n, 256), 1, 256,
                classPartials, n, t, n, y, n);
    }

    /** An output-tiled dense product over {@code t} rows of x (row length k). The tiled kernels need k % 8 == 0,
     *  which CudaModelRunner.checkSupported guarantees for every product of a supported model. */
    private void tiledDense(TiledGemm g, int t, int n, CUdeviceptr x, int k, CUdeviceptr wt, CUdeviceptr y) {
        tiled(g, ceil(t, g.tokens()), n, x, k, null, wt, 0L, n, k, y, n, null, null, t);
    }

    /** An output-tiled product of {@code n} outputs per row: {@code blocks} token tiles (dense) or tile-list
     *  entries (experts; blocks past the step's tile count return at once), arguments as gemmBody's. */
    private void tiled(TiledGemm g, int blocks, int n, Object... args) {
        dev.launchShared(g.name(), blocks, ceil(n, g.rows()), 1, g.threads(), g.sharedBytes(), args);
    }

    /** A persistent GEMM (experts over the step's tile list, or dense rows): {@code blocks} resident blocks walk its items. */
    private void persistent(PersistentGemm g, int blocks, Object... args) {
        dev.launchShared(g.name(), blocks, 1, 1, 256, g.sharedBytes(), args);
    }

    /** The wide K-split variants give bit-identical results to the narrow ones (same K split and order). */
    private static String name(String kernel, boolean wide) {
        return wide ? kernel + "_wide" : kernel;
    }

    private static int rows(boolean wide, boolean swiglu) {
        return !wide ? NARROW_ROWS : swiglu ? WIDE_SWIGLU_ROWS : WIDE_ROWS;
    }

    private static int ceil(int a, int b) {
        return (a + b - 1) / b;
    }
}
