package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.attention.MlaAttention;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;

/**
 * The device buffers one forward step uses, sized once for the largest step ({@code maxTokens} tokens,
 * {@code maxSeqs} sequences), so a captured CUDA graph can keep pointing at them.
 *
 * <p>Per-step inputs travel in one host→device copy of {@link #in}: int32 words at fixed offsets
 * (tokens, positions, cache slots, sequence of each token, rows to sample, sampling params, meta, block tables).
 * Results come back in one device→host copy of the prefix of {@link #out}: sampled tokens, their logprobs, then per
 * token [routing ids (num_moe_layers × k) | routing weights (same, fp32 bits)]. A step with forced routing or scoring
 * adds its inputs after the block tables and its outputs after the routing record ({@link ReplayInputs}).
 *
 * <p>The GEMM inputs {@code xnSplit}, {@code attn}, {@code act} and {@code finalX} hold split rows (kernels.cu
 * {@code storeSplit}: each activation as bf16 hi + lo, in the bytes its fp32 value would take), written by their
 * producers; {@code xn} is the fp32 normed row the router reads.
 *
 * <p>The attention's buffers ({@code q}, {@code attn}, {@code attnPart}) are sized for the attention that runs: the
 * GQA heads, or for MLA the padded heads MlaAttentionStep's kernels read and write ({@link MlaLayout#headDim}), never
 * MLA's nominal GQA width; {@code qkv} is the GQA QKV product's and null for MLA, whose projections MlaAttentionStep
 * owns.
 */
final class Workspace {
    static final int GEMM_TILE = 16;
    /** Pairs per tile of the second tile list with the persistent expert products at large batches (the tiled ones
     *  cut it into {@code TiledGemm.SWIGLU.tokens()}-pair tiles). */
    static final int GEMM_TILE_WIDE = 24;
    static final int SAMPLE_PARAMS = 6;
    /** Context partitions per (token, kv head) in attention (kernels.cu ATT_SPLITS). */
    static final int ATT_SPLITS = 16;

    final int maxTokens, maxSeqs, maxBlocksPerSeq, routingWordsPerToken;
    /** {@code qkv}: null for MLA. */
    final CUdeviceptr x, xn, xnSplit, qkv, q, attn, attnPart, topIds, topW, rankTmp, sortedTok, pairSlot, tiles, numTiles,
            tilesWide, numTilesWide, act, ySorted,
            finalX, logits, invFreq, in, out;
    /** The shared experts' output rows [maxTokens][hidden] (fp32) and Qwen2-MoE's per-token shared-expert gate
     *  [maxTokens]; null for a model without shared experts (without the gate). */
    final CUdeviceptr sharedOut, sharedGate;
    // word offsets inside `in`
    final int offTokens, offPositions, offSlots, offTokSeq, offSampleRows, offSampleParams, offMeta, offBlockTables;
    /** Words of the step's meta (at offMeta): the block tables' stride (the attention kernels' meta[0]) and the
     *  step's real rows, those before a decode graph's padding (the grouping's realRows). */
    static final int META_STRIDE = 0, META_REAL_ROWS = 1;
    final Pointer inHost, outHost;
    final IntBuffer inWords, outWords;

    Workspace(CudaDevice dev, ModelConfig c, int maxTokens, int maxSeqs, int maxBlocksPerSeq) {
        this.maxTokens = maxTokens;
        this.maxSeqs = maxSeqs;
        this.maxBlocksPerSeq = maxBlocksPerSeq;
        int H = c.hiddenSize, K = c.topK;
        long pairs = (long) maxTokens * K;
        x = dev.alloc(4L * maxTokens * H);
        xn = dev.alloc(4L * maxTokens * H);
        xnSplit = dev.alloc(4L * maxTokens * H); // the normed rows as the GEMMs read them (kernels.cu storeSplit)
        qkv = qkvFloats(c) > 0 ? dev.alloc(4L * maxTokens * qkvFloats(c)) : null;
        q = dev.alloc(4L * maxTokens * attentionRowFloats(c));
        attn = dev.alloc(4L * maxTokens * attentionRowFloats(c));
        attnPart = dev.alloc(4L * maxTokens * attentionPartFloats(c));
        topIds = dev.alloc(4L * pairs);
        topW = dev.alloc(4L * pairs);
        rankTmp = dev.alloc(4L * pairs);
        sortedTok = dev.alloc(4L * pairs);
        pairSlot = dev.alloc(4L * pairs);
        tiles = dev.alloc(12L * maxTiles(c, maxTokens));
        numTiles = dev.alloc(4);
        tilesWide = dev.alloc(12L * maxTiles(c, maxTokens)); // 24- or 32-pair tiles: never more than 16-pair ones
        numTilesWide = dev.alloc(4);
        act = dev.alloc(4L * actFloats(c, maxTokens));
        ySorted = dev.alloc(4L * pairs * H);
        finalX = dev.alloc(4L * maxSeqs * H);
        logits = dev.alloc(4L * maxSeqs * c.vocabSize);
        invFreq = dev.alloc(4L * (c.headDim / 2));
        sharedOut = c.sharedExpertIntermediateSize > 0 ? dev.alloc(4L * maxTokens * H) : null;
        sharedGate = c.sharedExpertGated ? dev.alloc(4L * maxTokens) : null;
        routingWordsPerToken = 2 * c.numMoeLayers() * K;
        offTokens = 0;
        offPositions = maxTokens;
        offSlots = 2 * maxTokens;
        offTokSeq = 3 * maxTokens;
        offSampleRows = 4 * maxTokens;
        offSampleParams = offSampleRows + maxSeqs;
        offMeta = offSampleParams + SAMPLE_PARAMS * maxSeqs;
        offBlockTables = offMeta + 4;
        // after the block tables: a step's forced routing ids and scored rows, when it has any (ReplayInputs)
        long inWordsTotal = offBlockTables + (long) maxSeqs * maxBlocksPerSeq
                + ReplayInputs.maxWords(maxTokens, c.numMoeLayers(), K);
        in = dev.alloc(4 * inWordsTotal);
        inHost = dev.allocHost(4 * inWordsTotal);
        inWords = inHost.getByteBuffer(0, 4 * inWordsTotal).order(ByteOrder.nativeOrder()).asIntBuffer();
        // after the routing record: a step's reproduced-id counts and scored logprobs, when it has any
        long outWordsTotal = 2L * maxSeqs + (long) maxTokens * routingWordsPerToken
                + ReplayInputs.maxOutWords(maxTokens, c.numMoeLayers());
        out = dev.alloc(4 * outWordsTotal);
        outHost = dev.allocHost(4 * outWordsTotal);
        outWords = outHost.getByteBuffer(0, 4 * outWordsTotal).order(ByteOrder.nativeOrder()).asIntBuffer();
    }

    /** The GEMM activation buffer {@code act}: the routed experts' pairs, a dense layer's rows or the shared
     *  experts' rows (which run after the routed products are done with it), whichever is widest. */
    static long actFloats(ModelConfig c, int maxTokens) {
        long pairs = (long) maxTokens * c.topK;
        return Math.max(Math.max(pairs * c.moeIntermediateSize, (long) maxTokens * c.denseIntermediateSize),
                (long) maxTokens * c.sharedExpertIntermediateSize);
    }

    /** Floats per token of the QKV product (q | k | v); 0 for MLA (MlaAttentionStep's products). */
    static long qkvFloats(ModelConfig c) {
        return c.attention instanceof MlaAttention ? 0 : c.qDim() + 2L * c.kvDim();
    }

    /** Floats per token of the attention's query rows and of its output rows: all heads at the attention's head
     *  width (GQA q_dim; MLA heads × the padded width). */
    static long attentionRowFloats(ModelConfig c) {
        return c.attention instanceof MlaAttention a ? (long) a.numHeads() * MlaLayout.headDim(a) : c.qDim();
    }

    /** Floats per token of the attention partials [heads][ATT_SPLITS][width + 2] (kernels/attention.cuh). */
    static long attentionPartFloats(ModelConfig c) {
        int heads = c.attention instanceof MlaAttention a ? a.numHeads() : c.numHeads;
        int width = c.attention instanceof MlaAttention a ? MlaLayout.headDim(a) : c.headDim;
        return (long) heads * ATT_SPLITS * (width + 2);
    }

    static int maxTiles(ModelConfig c, int tokens) {
        return (int) ((long) tokens * c.topK + GEMM_TILE - 1) / GEMM_TILE + c.numExperts;
    }

    /** Device bytes a workspace for these limits takes (to size the KV cache before allocating it). */
    static long bytes(ModelConfig c, int maxTokens, int maxSeqs, int maxBlocksPerSeq) {
        long H = c.hiddenSize, pairs = (long) maxTokens * c.topK;
        long f = maxTokens * H * 3 /* x, xn, xnSplit */ + maxTokens * qkvFloats(c) + 2L * maxTokens * attentionRowFloats(c)
                + maxTokens * attentionPartFloats(c)
                + pairs * 5 + 6L * maxTiles(c, maxTokens) + 2
                + actFloats(c, maxTokens)
                + (c.sharedExpertIntermediateSize > 0 ? maxTokens * H : 0) + (c.sharedExpertGated ? maxTokens : 0)
                + pairs * H + maxSeqs * H + (long) maxSeqs * c.vocabSize
                + 4L * maxTokens + 7L * maxSeqs + (long) maxSeqs * maxBlocksPerSeq
                + 2L * maxSeqs + (long) maxTokens * 2 * c.numMoeLayers() * c.topK
                + ReplayInputs.maxWords(maxTokens, c.numMoeLayers(), c.topK)
                + ReplayInputs.maxOutWords(maxTokens, c.numMoeLayers());
        return 4 * f;
    }

    CUdeviceptr inAt(int wordOffset) {
        return in.withByteOffset(4L * wordOffset);
    }

    CUdeviceptr outAt(long wordOffset) {
        return out.withByteOffset(4L * wordOffset);
    }

}
