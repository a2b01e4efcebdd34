package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.ModelRunner;
import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.backend.StepOutput;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.kvcache.KvCacheDtype;
import io.routingreplay.runtime.model.LayerWeights;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.model.Rope;
import io.routingreplay.runtime.sampler.Sampler;
import io.routingreplay.runtime.weights.WeightStore;

import java.util.ArrayList;
import java.util.List;

/**
 * The reference backend: float32 compute over the memory-mapped checkpoint, a paged K/V cache on the heap.
 * Every per-token reduction runs in a fixed order, so a sequence's outputs do not depend on its batch-mates or on
 * how its prompt was chunked.
 */
public final class CpuModelRunner implements ModelRunner {
    /** Share of the max heap the K/V cache may grow to (blocks are allocated on first use). */
    private static final double KV_HEAP_SHARE = 0.3;

    private final ModelConfig c;
    private final ModelWeights w;
    private final Parallel par;
    private final int blockSize;
    private final int numBlocks;
    private final KvCacheDtype kvDtype;  // values are rounded to it on write (stored as fp32: same numbers as the GPU)
    private final float[][][] kCache;   // [layer][block] -> [blockSize * kvDim], allocated on first write
    private final float[][][] vCache;   // same shape as kCache
    private final float[][] attnNorm;   // [layer][hidden]
    private final float[][] ffnNorm;    // [layer][hidden]
    private final float[][] qNorm;      // [layer][head_dim or q_dim], null without q/k norm
    private final float[][] kNorm;      // [layer][head_dim or kv_dim]
    private final float[] finalNorm;    // [hidden]
    private final float[] invFreq;      // [head_dim / 2], RoPE inverse frequencies

    private CpuModelRunner(ModelConfig c, ModelWeights w, int threads, int blockSize, int kvTokens,
                           KvCacheDtype kvDtype) {
        this.c = c;
        this.kvDtype = kvDtype;
        this.w = w;
        this.par = new Parallel(threads);
        this.blockSize = blockSize;
        long bytesPerToken = 2L * c.numLayers * c.kvDim() * Float.BYTES;
        long tokens = kvTokens > 0 ? kvTokens : (long) (Runtime.getRuntime().maxMemory() * KV_HEAP_SHARE / bytesPerToken);
        this.numBlocks = (int) Math.max(1, Math.min(Integer.MAX_VALUE / 2, tokens / blockSize));
        this.kCache = new float[c.numLayers][numBlocks][];
        this.vCache = new float[c.numLayers][numBlocks][];
        attnNorm = new float[c.numLayers][];
        ffnNorm = new float[c.numLayers][];
        qNorm = new float[c.numLayers][];
        kNorm = new float[c.numLayers][];
        for (int l = 0; l < c.numLayers; l++) {
            LayerWeights lw = w.layers[l];
            attnNorm[l] = lw.attnNorm.toFloatArray();
            ffnNorm[l] = lw.ffnNorm.toFloatArray();
            qNorm[l] = lw.qNorm == null ? null : lw.qNorm.toFloatArray();
            kNorm[l] = lw.kNorm == null ? null : lw.kNorm.toFloatArray();
        }
        finalNorm = w.finalNorm.toFloatArray();
        invFreq = Rope.inverseFrequencies(c);
    }

    public static CpuModelRunner load(EngineConfig cfg) {
        ModelConfig mc = ModelConfigLoader.load(cfg.modelDir());
        ModelWeights weights = ModelWeights.load(mc, WeightStore.open(cfg.modelDir()));
        return new CpuModelRunner(mc, weights, cfg.threads(), cfg.kvBlockSize(), cfg.kvCacheTokens(),
                cfg.kvCacheDtype());
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
    public StepOutput forward(ForwardBatch batch) {
        List<SeqChunk> chunks = batch.chunks();
        int nChunks = chunks.size();
        int T = batch.numTokens();
        int H = c.hiddenSize;
        int[] tok = new int[T];
        int[] pos = new int[T];
        int[] chunkOf = new int[T];
        int[] chunkStart = new int[nChunks];
        for (int ci = 0, t = 0; ci < nChunks; ci++) {
            SeqChunk ch = chunks.get(ci);
            chunkStart[ci] = t;
            for (int i = 0; i < ch.length(); i++, t++) {
                tok[t] = ch.tokens()[i];
                pos[t] = ch.startPos() + i;
                chunkOf[t] = ci;
            }
        }
        float[] x = new float[T * H];                      // [T, hidden] residual stream
        for (int t = 0; t < T; t++) {
            w.embedding.toFloat((long) tok[t] * H, x, t * H, H);
        }
        int half = c.headDim / 2;
        float[] cos = new float[T * half];                 // [T, head_dim/2]
        float[] sin = new float[T * half];
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < half; i++) {
                float f = pos[t] * invFreq[i];
                cos[t * half + i] = (float) Math.cos(f);
                sin[t * half + i] = (float) Math.sin(f);
            }
        }
        int per = c.numMoeLayers() * c.topK;
        int[][] routingIds = new int[nChunks][];
        float[][] routingWeights = new float[nChunks][];
        for (int ci = 0; ci < nChunks; ci++) {
            routingIds[ci] = new int[chunks.get(ci).length() * per];
            routingWeights[ci] = new float[chunks.get(ci).length() * per];
        }
        float[] xn = new float[T * H];
        for (int l = 0; l < c.numLayers; l++) {
            for (int t = 0; t < T; t++) {
                CpuOps.rmsNorm(x, t * H, attnNorm[l], 0, c.rmsNormEps, xn, t * H, H);
            }
            attention(l, chunks, T, pos, chunkOf, cos, sin, xn, x);
            for (int t = 0; t < T; t++) {
                CpuOps.rmsNorm(x, t * H, ffnNorm[l], 0, c.rmsNormEps, xn, t * H, H);
            }
            if (c.isMoeLayer(l)) {
                moe(l, c.moeSlot(l), T, chunkOf, chunkStart, xn, x, routingIds, routingWeights);
            } else {
                denseMlp(l, T, xn, x);
            }
        }
        return sample(chunks, chunkStart, x, routingIds, routingWeights);
    }

    /** Self-attention of layer l: projections, q/k norm, RoPE, cache write, causal attention, output, residual. */
    private void attention(int l, List<SeqChunk> chunks, int T, int[] pos, int[] chunkOf, float[] cos, float[] sin,
                           float[] xn, float[] x) {
        LayerWeights lw = w.layers[l];
        int H = c.hiddenSize, qd = c.qDim(), kvd = c.kvDim(), hd = c.headDim, half = hd / 2;
        float[] q = new float[T * qd];                     // [T, heads*head_dim]
        float[] k = new float[T * kvd];                    // [T, kv_heads*head_dim]
        float[] v = new float[T * kvd];
        CpuOps.linear(par, lw.wq, xn, null, T, H, q, qd);
        CpuOps.linear(par, lw.wk, xn, null, T, H, k, kvd);
        CpuOps.linear(par, lw.wv, xn, null, T, H, v, kvd);
        for (int t = 0; t < T; t++) {
            if (c.qkNorm == QkNorm.PER_HEAD) {
                for (int h = 0; h < c.numHeads; h++) {
                    CpuOps.rmsNorm(q, t * qd + h * hd, qNorm[l], 0, c.rmsNormEps, q, t * qd + h * hd, hd);
                }
                for (int h = 0; h < c.numKvHeads; h++) {
                    CpuOps.rmsNorm(k, t * kvd + h * hd, kNorm[l], 0, c.rmsNormEps, k, t * kvd + h * hd, hd);
                }
            } else if (c.qkNorm == QkNorm.FULL) {
                CpuOps.rmsNorm(q, t * qd, qNorm[l], 0, c.rmsNormEps, q, t * qd, qd);
                CpuOps.rmsNorm(k, t * kvd, kNorm[l], 0, c.rmsNormEps, k, t * kvd, kvd);
            }
            for (int h = 0; h < c.numHeads; h++) {
                CpuOps.rope(q, t * qd + h * hd, hd, cos, sin, t * half);
            }
            for (int h = 0; h < c.numKvHeads; h++) {
                CpuOps.rope(k, t * kvd + h * hd, hd, cos, sin, t * half);
            }
            int[] table = chunks.get(chunkOf[t]).blockTable();
            int block = table[pos[t] / blockSize];
            int slot = (pos[t] % blockSize) * kvd;
            if (kCache[l][block] == null) {
                kCache[l][block] = new float[blockSize * kvd];
                vCache[l][block] = new float[blockSize * kvd];
            }
            System.arraycopy(k, t * kvd, kCache[l][block], slot, kvd);
            System.arraycopy(v, t * kvd, vCache[l][block], slot, kvd);
            kvDtype.roundInPlace(kCache[l][block], slot, kvd);
            kvDtype.roundInPlace(vCache[l][block], slot, kvd);
        }
        float[] attnOut = new float[T * qd];               // [T, heads*head_dim]
        int group = c.numHeads / c.numKvHeads;
        float scale = (float) (1.0 / Math.sqrt(hd));
        long work = 0;
        for (int t = 0; t < T; t++) {
            work += (long) (pos[t] + 1) * qd * 2;
        }
        float[][] kl = kCache[l], vl = vCache[l];
        par.forRange(T * c.numHeads, work, th -> {
            int t = th / c.numHeads, h = th % c.numHeads;
            int kvOff = (h / group) * hd;
            int[] table = chunks.get(chunkOf[t]).blockTable();
            int n = pos[t] + 1;
            float[] scores = new float[n];
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                float[] kb = kl[table[j / blockSize]];
                scores[j] = CpuOps.dot(q, t * qd + h * hd, kb, (j % blockSize) * kvd + kvOff, hd) * scale;
                max = Math.max(max, scores[j]);
            }
            float sum = 0;
            for (int j = 0; j < n; j++) {
                scores[j] = (float) Math.exp(scores[j] - max);
                sum += scores[j];
            }
            int o = t * qd + h * hd;
            for (int j = 0; j < n; j++) {
                float p = scores[j] / sum;
                float[] vb = vl[table[j / blockSize]];
                int vo = (j % blockSize) * kvd + kvOff;
                for (int d = 0; d < hd; d++) {
                    attnOut[o + d] += p * vb[vo + d];
                }
            }
        });
        float[] proj = new float[T * H];
        CpuOps.linear(par, lw.wo, attnOut, null, T, qd, proj, H);
        for (int i = 0; i < T * H; i++) {
            x[i] += proj[i];
        }
    }

    /**
     * Routed experts of layer l: router softmax → top-k (→ renormalise) recorded per token, then each hit expert's
     * SwiGLU over the tokens routed to it, combined per token in expert-id order (as transformers does).
     */
    private void moe(int l, int slot, int T, int[] chunkOf, int[] chunkStart, float[] xn, float[] x,
                     int[][] routingIds, float[][] routingWeights) {
        LayerWeights lw = w.layers[l];
        int H = c.hiddenSize, E = c.numExperts, K = c.topK, I = c.moeIntermediateSize;
        float[] logits = new float[T * E];                 // [T, num_experts]
        CpuOps.linear(par, lw.router, xn, null, T, H, logits, E);
        int[] topIds = new int[T * K];                     // [T, K] by probability, descending
        float[] topW = new float[T * K];
        float[] prob = new float[E];
        for (int t = 0; t < T; t++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int e = 0; e < E; e++) {
                max = Math.max(max, logits[t * E + e]);
            }
            float sum = 0;
            for (int e = 0; e < E; e++) {
                prob[e] = (float) Math.exp(logits[t * E + e] - max);
                sum += prob[e];
            }
            for (int e = 0; e < E; e++) {
                prob[e] /= sum;
            }
            float kept = 0;
            for (int j = 0; j < K; j++) {
                int best = -1;
                for (int e = 0; e < E; e++) {
                    if (prob[e] >= 0 && (best < 0 || prob[e] > prob[best])) {
                        best = e;
                    }
                }
                topIds[t * K + j] = best;
                topW[t * K + j] = prob[best];
                kept += prob[best];
                prob[best] = -1f; // taken
            }
            if (c.normTopkProb) {
                for (int j = 0; j < K; j++) {
                    topW[t * K + j] /= kept;
                }
            }
            int ci = chunkOf[t];
            int base = ((t - chunkStart[ci]) * c.numMoeLayers() + slot) * K;
            System.arraycopy(topIds, t * K, routingIds[ci], base, K);
            System.arraycopy(topW, t * K, routingWeights[ci], base, K);
        }
        // Group (token, rank) pairs by expert.
        int[] count = new int[E];
        for (int i = 0; i < T * K; i++) {
            count[topIds[i]]++;
        }
        int[][] members = new int[E][];
        for (int e = 0; e < E; e++) {
            members[e] = new int[count[e]];
            count[e] = 0;
        }
        for (int i = 0; i < T * K; i++) {
            members[topIds[i]][count[topIds[i]]++] = i;
        }
        float[] expertOut = new float[T * K * H];          // [T*K, hidden], one row per (token, rank)
        for (int e = 0; e < E; e++) {
            int m = members[e].length;
            if (m == 0) {
                continue;
            }
            int[] rows = new int[m];
            for (int r = 0; r < m; r++) {
                rows[r] = members[e][r] / K;
            }
            float[] act = swiglu(lw.expertGate[e], lw.expertUp[e], xn, rows, m, I);
            float[] down = new float[m * H];
            CpuOps.linear(par, lw.expertDown[e], act, null, m, I, down, H);
            for (int r = 0; r < m; r++) {
                System.arraycopy(down, r * H, expertOut, members[e][r] * H, H);
            }
        }
        float[] moeOut = new float[H];
        for (int t = 0; t < T; t++) {
            java.util.Arrays.fill(moeOut, 0f);
            for (int e = 0; e < E; e++) {                  // expert-id order, like transformers' index_add_
                for (int j = 0; j < K; j++) {
                    if (topIds[t * K + j] == e) {
                        float wgt = topW[t * K + j];
                        int off = (t * K + j) * H;
                        for (int d = 0; d < H; d++) {
                            moeOut[d] += expertOut[off + d] * wgt;
                        }
                    }
                }
            }
            for (int d = 0; d < H; d++) {
                x[t * H + d] += moeOut[d];
            }
        }
    }

    /** silu(gate · x) * (up · x) for the given rows of xn: [m, inter]. */
    private float[] swiglu(io.routingreplay.runtime.weights.TensorView gateW, io.routingreplay.runtime.weights.TensorView upW,
                           float[] xn, int[] rows, int m, int inter) {
        int H = c.hiddenSize;
        float[] gate = new float[m * inter];
        float[] up = new float[m * inter];
        CpuOps.linear(par, gateW, xn, rows, m, H, gate, inter);
        CpuOps.linear(par, upW, xn, rows, m, H, up, inter);
        for (int i = 0; i < m * inter; i++) {
            gate[i] = CpuOps.silu(gate[i]) * up[i];
        }
        return gate;
    }

    private void denseMlp(int l, int T, float[] xn, float[] x) {
        LayerWeights lw = w.layers[l];
        int H = c.hiddenSize, I = c.denseIntermediateSize;
        float[] act = swiglu(lw.denseGate, lw.denseUp, xn, null, T, I);
        float[] down = new float[T * H];
        CpuOps.linear(par, lw.denseDown, act, null, T, I, down, H);
        for (int i = 0; i < T * H; i++) {
            x[i] += down[i];
        }
    }

    /** Final norm and lm_head for the last position of each sampling chunk, then the sampler. */
    private StepOutput sample(List<SeqChunk> chunks, int[] chunkStart, float[] x, int[][] routingIds,
                              float[][] routingWeights) {
        int n = chunks.size(), H = c.hiddenSize, V = c.vocabSize;
        int[] sampled = new int[n];
        float[] logprobs = new float[n];
        java.util.Arrays.fill(sampled, -1);
        List<Integer> rows = new ArrayList<>();
        for (int ci = 0; ci < n; ci++) {
            if (chunks.get(ci).sample()) {
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
            float[] logits = new float[R * V];             // [R, vocab]
            CpuOps.linear(par, w.lmHead, hn, null, R, H, logits, V);
            par.forRange(R, (long) R * V * 64, r -> {
                SeqChunk ch = chunks.get(rows.get(r));
                Sampler.Sample s = Sampler.sample(logits, r * V, V, ch.params(), ch.seed(), ch.sampleIndex());
                sampled[rows.get(r)] = s.token();
                logprobs[rows.get(r)] = s.logprob();
            });
        }
        return new StepOutput(sampled, logprobs, routingIds, routingWeights);
    }

    @Override
    public void close() {
        par.close();
    }
}
