package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.ModelRunner;
import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.backend.StepOutput;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GemmInputs;
import io.routingreplay.runtime.kvcache.KvCacheDtype;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.parallel.Collectives;
import io.routingreplay.runtime.parallel.RankShard;
import io.routingreplay.runtime.parallel.Slice;
import io.routingreplay.runtime.sampler.Sampler;
import io.routingreplay.runtime.weights.WeightStore;

import java.util.ArrayList;
import java.util.List;

/**
 * The reference backend: float32 compute over the memory-mapped checkpoint, a paged K/V cache on the heap.
 * Every per-token reduction runs in a fixed order, so a sequence's outputs do not depend on its batch-mates or on
 * how its prompt was chunked. A layer is the same op sequence for every architecture: RMSNorm, the config's
 * attention kind ({@link CpuAttention}), RMSNorm, then the MoE block ({@link CpuMoe}: router kind, routed and
 * shared experts) or the dense MLP.
 *
 * <p>The same runner is one rank of a sharded model ({@link #rank}): its tensors are then that rank's slices
 * ({@link io.routingreplay.runtime.parallel.RankWeights}), and the three places where a rank's partial results meet
 * the others' go through its {@link Collectives}: the embedding rows and logits (gathered by vocabulary slice, exact
 * copies), and the attention and feed-forward outputs (partial sums, added in rank order before the residual add).
 * On one rank each of them is the rank's own array, so the unsharded runner computes exactly what it always did.
 */
public final class CpuModelRunner implements ModelRunner {
    /** Share of the max heap the K/V cache may grow to (blocks are allocated on first use). */
    private static final double KV_HEAP_SHARE = 0.3;

    private final ModelConfig c;
    private final ModelWeights w;
    private final RankShard shard;
    private final Collectives coll;
    private final Parallel par;
    private final CpuProducts products;
    private final int blockSize;
    private final int numBlocks;
    private final CpuAttention attention;
    private final CpuMoe moe;
    private final float[][] attnNorm;   // [layer][hidden]
    private final float[][] ffnNorm;    // [layer][hidden]
    private final float[] finalNorm;    // [hidden]
    private final float[] invFreq;      // [rotary dim / 2], RoPE inverse frequencies
    private final CpuKvCache cache;

    private CpuModelRunner(ModelConfig c, ModelWeights w, RankShard shard, Collectives coll, int threads,
                           int blockSize, int numBlocks, KvCacheDtype kvDtype, GemmInputs gemmInputs) {
        this.c = c;
        this.w = w;
        this.shard = shard;
        this.coll = coll;
        this.par = new Parallel(threads);
        this.products = new CpuProducts(par, gemmInputs);
        this.blockSize = blockSize;
        this.numBlocks = numBlocks;
        this.cache = new CpuKvCache(c.numLayers, numBlocks, blockSize, shard.attention().keyWidth(),
                shard.attention().valueWidth(), kvDtype);
        this.attention = CpuAttention.of(c, shard, coll, w, products, cache);
        this.moe = new CpuMoe(c, w, products);
        attnNorm = new float[c.numLayers][];
        ffnNorm = new float[c.numLayers][];
        for (int l = 0; l < c.numLayers; l++) {
            attnNorm[l] = w.layers[l].attnNorm.toFloatArray();
            ffnNorm[l] = w.layers[l].ffnNorm.toFloatArray();
        }
        finalNorm = w.finalNorm.toFloatArray();
        invFreq = c.rope.inverseFrequencies();
    }

    public static CpuModelRunner load(EngineConfig cfg) {
        ModelConfig mc = ModelConfigLoader.load(cfg.modelDir());
        ModelWeights weights = ModelWeights.load(mc, WeightStore.open(cfg.modelDir()));
        return new CpuModelRunner(mc, weights, RankShard.whole(mc), Collectives.SINGLE, cfg.threads(),
                cfg.kvBlockSize(), kvBlocks(mc, cfg.kvBlockSize(), cfg.kvCacheTokens()), cfg.kvCacheDtype(),
                cfg.gemmInputs());
    }

    /**
     * One rank of a sharded model: {@code rankWeights} are the rank's slices of model {@code c}; {@code coll}
     * connects it to the other ranks, which step the same batches in lockstep. Every rank keeps {@code numBlocks}
     * blocks of its own K/V heads (the engine's one block manager hands the same tables to all).
     */
    public static CpuModelRunner rank(ModelConfig c, ModelWeights rankWeights, RankShard shard, Collectives coll,
                                      int threads, int blockSize, int numBlocks, KvCacheDtype kvDtype,
                                      GemmInputs gemmInputs) {
        return new CpuModelRunner(c, rankWeights, shard, coll, threads, blockSize, numBlocks, kvDtype, gemmInputs);
    }

    /** K/V blocks for {@code kvTokens} positions, or (when 0) for a share of the heap at the model's whole K/V
     *  width; a sharded model's ranks all take this count (each holds fewer K/V heads per block). */
    public static int kvBlocks(ModelConfig c, int blockSize, int kvTokens) {
        long bytesPerToken = (long) c.numLayers * (c.attention.keyWidth() + c.attention.valueWidth()) * Float.BYTES;
        long tokens = kvTokens > 0 ? kvTokens : (long) (Runtime.getRuntime().maxMemory() * KV_HEAP_SHARE / bytesPerToken);
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE / 2, tokens / blockSize));
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

    @Override
    public long kvSwapBytesPerBlock() {
        return CpuKvSwapSpace.bytesPerBlock(c.numLayers, blockSize, cache.keyWidth, cache.valueWidth);
    }

    @Override
    public io.routingreplay.runtime.backend.KvSwapSpace openKvSwapSpace(int slots) {
        return new CpuKvSwapSpace(cache, slots);
    }

    @Override
    public StepOutput forward(ForwardBatch batch) {
        CpuBatch b = new CpuBatch(batch);
        List<SeqChunk> chunks = b.chunks;
        int nChunks = chunks.size();
        int T = b.numTokens;
        int H = c.hiddenSize, K = c.topK;
        float[] x = embed(b.tok, T);                       // [T, hidden] residual stream
        RopeTable rope = new RopeTable(c.rope, invFreq, b.pos, T);
        int per = c.numMoeLayers() * K;
        int[][] routingIds = new int[nChunks][];
        float[][] routingWeights = new float[nChunks][];
        for (int ci = 0; ci < nChunks; ci++) {
            routingIds[ci] = new int[chunks.get(ci).length() * per];
            routingWeights[ci] = new float[chunks.get(ci).length() * per];
        }
        float[] xn = new float[T * H];
        int[] topIds = new int[T * K];                     // [T, K] one MoE layer's routing
        float[] topW = new float[T * K];
        boolean[] forced = forcedTokens(chunks, b.chunkStart, T, per);
        byte[] reproduced = forced == null ? null : new byte[T];
        byte[][] forcedReproduced = new byte[nChunks][];
        for (int ci = 0; ci < nChunks; ci++) {
            int[] f = chunks.get(ci).forcedIds();
            forcedReproduced[ci] = f == null ? null : new byte[f.length / K];
        }
        for (int l = 0; l < c.numLayers && T > 0; l++) { // T is 0 when every chunk samples from a kept row
            for (int t = 0; t < T; t++) {
                CpuOps.rmsNorm(x, t * H, attnNorm[l], 0, c.rmsNormEps, xn, t * H, H);
            }
            addInto(x, coll.sumInRankOrder(attention.forward(l, b, rope, xn)));
            for (int t = 0; t < T; t++) {
                CpuOps.rmsNorm(x, t * H, ffnNorm[l], 0, c.rmsNormEps, xn, t * H, H);
            }
            if (c.isMoeLayer(l)) {
                int slot = c.moeSlot(l);
                if (forced != null) {                      // the forced ids of this layer go in where the MoE reads them
                    for (int t = 0; t < T; t++) {
                        if (forced[t]) {
                            int ci = b.chunkOf[t];
                            int base = ((t - b.chunkStart[ci]) * c.numMoeLayers() + slot) * K;
                            System.arraycopy(chunks.get(ci).forcedIds(), base, topIds, t * K, K);
                        }
                    }
                }
                addInto(x, coll.sumInRankOrder(moe.forward(l, T, xn, topIds, topW, forced, reproduced)));
                for (int t = 0; t < T; t++) {
                    int ci = b.chunkOf[t];
                    int base = ((t - b.chunkStart[ci]) * c.numMoeLayers() + slot) * K;
                    System.arraycopy(topIds, t * K, routingIds[ci], base, K);
                    System.arraycopy(topW, t * K, routingWeights[ci], base, K);
                    if (forced != null && forced[t]) {
                        forcedReproduced[ci][(t - b.chunkStart[ci]) * c.numMoeLayers() + slot] = reproduced[t];
                    }
                }
            } else {
                addInto(x, coll.sumInRankOrder(CpuMlp.forward(products, w.layers[l].dense, xn, T, H)));
            }
        }
        float[][] kept = new float[nChunks][];
        StepOutput sampled = sample(chunks, b.chunkStart, x, kept);
        return new StepOutput(sampled.sampledTokens(), sampled.logprobs(), routingIds, routingWeights,
                score(chunks, b.chunkStart, x), forcedReproduced, kept);
    }

    /**
     * The embedding rows of the step's tokens. A rank holds a slice of the vocabulary: it fills the rows of the
     * tokens it holds, and each row is then taken from the rank that holds it (a copy, so every rank has the bits
     * one rank would).
     */
    private float[] embed(int[] tok, int T) {
        int H = c.hiddenSize;
        Slice vocab = shard.vocab();
        float[] x = new float[T * H];
        for (int t = 0; t < T; t++) {
            if (vocab.contains(tok[t])) {
                w.embedding.toFloat((long) (tok[t] - vocab.from()) * H, x, t * H, H);
            }
        }
        if (coll.size() == 1) {
            return x;
        }
        float[][] parts = coll.allGather(x);
        float[] out = new float[T * H];
        for (int t = 0; t < T; t++) {
            System.arraycopy(parts[shard.vocabOwner(tok[t])], t * H, out, t * H, H);
        }
        return out;
    }

    /** The logits [rows, vocab] of normalised hidden states hn [rows, hidden]: this rank's vocabulary rows of
     *  lm_head, gathered from every rank's slice (exact: each logit is one whole dot product on one rank). */
    private float[] logits(float[] hn, int rows) {
        int V = shard.vocab().size();
        float[] local = new float[rows * V];
        products.linear(w.lmHead, hn, null, rows, c.hiddenSize, local, V);
        int[] widths = new int[coll.size()];
        for (int r = 0; r < widths.length; r++) {
            widths[r] = shard.vocabOf(r).size();
        }
        return coll.allGatherColumns(local, rows, widths);
    }

    /** x += d, element-wise (the residual add). */
    private static void addInto(float[] x, float[] d) {
        for (int i = 0; i < x.length; i++) {
            x[i] += d[i];
        }
    }

    @Override
    public boolean supportsReplayInputs() {
        return true;
    }

    /** The sampled row's logits are a host array here: keeping one is a copy, sampling from one is the same call. */
    @Override
    public boolean supportsPromptEndLogits() {
        return true;
    }

    /** Which of the step's T tokens are forced (a prefix of each chunk with forced ids); null when none is. */
    private static boolean[] forcedTokens(List<SeqChunk> chunks, int[] chunkStart, int T, int idsPerToken) {
        boolean[] forced = null;
        for (int ci = 0; ci < chunks.size(); ci++) {
            int[] f = chunks.get(ci).forcedIds();
            if (f == null) {
                continue;
            }
            if (f.length % idsPerToken != 0 || f.length / idsPerToken > chunks.get(ci).length()) {
                throw new IllegalArgumentException("chunk " + ci + ": " + f.length + " forced ids are not whole "
                        + "positions of " + idsPerToken + " within its " + chunks.get(ci).length() + " positions");
            }
            if (forced == null) {
                forced = new boolean[T];
            }
            java.util.Arrays.fill(forced, chunkStart[ci], chunkStart[ci] + f.length / idsPerToken, true);
        }
        return forced;
    }

    /**
     * Scoring: final norm and lm_head at every position a chunk asks a token's log-probability for, then the same
     * log-softmax the sampler reports ({@link Sampler#logprob}), so a scored token's value equals the one the
     * engine reported when it sampled that token.
     */
    private float[][] score(List<SeqChunk> chunks, int[] chunkStart, float[] x) {
        int H = c.hiddenSize, V = c.vocabSize;
        float[][] out = new float[chunks.size()][];
        for (int ci = 0; ci < chunks.size(); ci++) {
            int[] targets = chunks.get(ci).scoreTokens();
            if (targets == null) {
                continue;
            }
            out[ci] = new float[targets.length];
            java.util.Arrays.fill(out[ci], Float.NaN);
            List<Integer> rows = new ArrayList<>();
            for (int i = 0; i < targets.length; i++) {
                if (targets[i] >= 0) {
                    rows.add(i);
                }
            }
            int R = rows.size();
            if (R == 0) {
                continue;
            }
            float[] hn = new float[R * H];
            for (int r = 0; r < R; r++) {
                CpuOps.rmsNorm(x, (chunkStart[ci] + rows.get(r)) * H, finalNorm, 0, c.rmsNormEps, hn, r * H, H);
            }
            float[] logits = logits(hn, R);                // [R, vocab]
            float[] lp = out[ci];
            par.forRange(R, (long) R * V * 8, r -> {
                int i = rows.get(r);
                lp[i] = Sampler.logprob(logits, r * V, V, targets[i]);
            });
        }
        return out;
    }

    /**
     * Final norm and lm_head for the last position of each sampling chunk that computes its logits, then the sampler;
     * a chunk with a kept row ({@link SeqChunk#sampleFrom()}) is sampled from that row by the same sampler. The row
     * a {@link SeqChunk#keepLogits()} chunk sampled from is copied into {@code kept}.
     */
    private StepOutput sample(List<SeqChunk> chunks, int[] chunkStart, float[] x, float[][] kept) {
        int n = chunks.size(), H = c.hiddenSize, V = c.vocabSize;
        int[] sampled = new int[n];
        float[] logprobs = new float[n];
        java.util.Arrays.fill(sampled, -1);
        List<Integer> rows = new ArrayList<>();
        for (int ci = 0; ci < n; ci++) {
            SeqChunk ch = chunks.get(ci);
            if (ch.sampleFrom() != null) {
                if (!ch.sample() || ch.length() != 0 || ch.sampleFrom().length != V) {
                    throw new IllegalArgumentException("chunk " + ci + " samples from a kept row: it must sample, "
                            + "feed no tokens and give " + V + " logits (got " + ch.length() + " tokens, "
                            + ch.sampleFrom().length + " logits)");
                }
                Sampler.Sample s = Sampler.sample(ch.sampleFrom(), 0, V, ch.params(), ch.seed(), ch.sampleIndex());
                sampled[ci] = s.token();
                logprobs[ci] = s.logprob();
            } else if (ch.sample()) {
                rows.add(ci);
            }
        }
        if (!rows.isEmpty()) {
            int R = rows.size();
            float[] hn = new float[R * H];
            for (int r = 0; r < R; r++) {
                int ci = rows.get(r);
                int last = chunkStart[ci] + chunks.get(ci).length() - 1;
                CpuOps.rmsNorm(x, last * H, finalNorm, 0, c.rmsNormEps, hn, r * H, H);
            }
            float[] logits = logits(hn, R);                // [R, vocab]
            par.forRange(R, (long) R * V * 64, r -> {
                SeqChunk ch = chunks.get(rows.get(r));
                Sampler.Sample s = Sampler.sample(logits, r * V, V, ch.params(), ch.seed(), ch.sampleIndex());
                sampled[rows.get(r)] = s.token();
                logprobs[rows.get(r)] = s.logprob();
            });
            for (int r = 0; r < R; r++) {
                if (chunks.get(rows.get(r)).keepLogits()) {
                    kept[rows.get(r)] = java.util.Arrays.copyOfRange(logits, r * V, (r + 1) * V);
                }
            }
        }
        return new StepOutput(sampled, logprobs, null, null);
    }

    @Override
    public void close() {
        par.close();
    }
}
