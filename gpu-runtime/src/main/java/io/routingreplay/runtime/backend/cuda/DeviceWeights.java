package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.attention.GqaWeights;
import io.routingreplay.runtime.model.attention.MlaAttention;
import io.routingreplay.runtime.model.attention.MlaWeights;
import io.routingreplay.runtime.model.LayerWeights;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.weights.Dtype;
import io.routingreplay.runtime.weights.TensorView;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;

/**
 * Every weight of the model as bf16 on the device, in the layouts the kernels read: q/k/v stacked into one
 * [q_dim + 2 kv_dim, hidden] matrix (an MLA layer's attention tensors in {@link MlaLayerWeights} instead), and each
 * MoE layer's experts stacked [expert][rows][cols] per projection.
 * Loaded from a checkpoint (bf16 bytes copied as they are; f16/f32 rounded to bf16) or filled with random values
 * by a kernel on the device (synthetic benchmark models never touch the host).
 */
final class DeviceWeights {
    final CUdeviceptr embedding, finalNorm, lmHead;
    final Layer[] layers;
    final long bytes;

    static final class Layer {
        CUdeviceptr attnNorm, ffnNorm, wqkv, wo, qNorm, kNorm;
        CUdeviceptr router, gate, up, down; // MoE: stacked per expert; dense: one matrix each
        boolean moe;
        /** fp32 [q | k | v] projection bias ({@link HostLayout#qkvBias}), or null. */
        CUdeviceptr qkvBias;
        /** fp32 [num_experts] e_score_correction_bias, or null. */
        CUdeviceptr routerBias;
        /** The shared experts as one SwiGLU block (bf16 [shared_inter, hidden] ×2, [hidden, shared_inter]), or null. */
        CUdeviceptr sharedGate, sharedUp, sharedDown;
        /** Qwen2-MoE's shared_expert_gate row, bf16 [hidden], or null. */
        CUdeviceptr sharedGateRow;
        /** An MLA layer's attention tensors (then wqkv, wo, qNorm, kNorm and qkvBias are null), or null. */
        MlaLayerWeights mla;
    }

    private DeviceWeights(CUdeviceptr embedding, CUdeviceptr finalNorm, CUdeviceptr lmHead, Layer[] layers, long bytes) {
        this.embedding = embedding;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.layers = layers;
        this.bytes = bytes;
    }

    /** Sizes in elements of one layer's tensors, shared by both loaders. */
    private record Shapes(long qkv, long o, long qn, long kn, long router, long expert, long denseUp, long denseDown) {
        static Shapes of(ModelConfig c) {
            long h = c.hiddenSize;
            long qn = c.qkNorm == QkNorm.PER_HEAD ? c.headDim : c.qkNorm == QkNorm.FULL ? c.qDim() : 0;
            long kn = c.qkNorm == QkNorm.PER_HEAD ? c.headDim : c.qkNorm == QkNorm.FULL ? c.kvDim() : 0;
            return new Shapes((c.qDim() + 2L * c.kvDim()) * h, h * c.qDim(), qn, kn, (long) c.numExperts * h,
                    (long) c.moeIntermediateSize * h, (long) c.denseIntermediateSize * h,
                    (long) c.denseIntermediateSize * h);
        }
    }

    static DeviceWeights upload(CudaDevice dev, ModelWeights w) {
        ModelConfig c = w.config;
        Shapes s = Shapes.of(c);
        long[] total = {0};
        CUdeviceptr emb = put(dev, total, w.embedding);
        CUdeviceptr norm = put(dev, total, w.finalNorm);
        CUdeviceptr head = w.lmHead == w.embedding ? emb : put(dev, total, w.lmHead);
        Layer[] layers = new Layer[c.numLayers];
        for (int i = 0; i < c.numLayers; i++) {
            LayerWeights lw = w.layers[i];
            Layer l = new Layer();
            l.attnNorm = put(dev, total, lw.attnNorm);
            l.ffnNorm = put(dev, total, lw.ffnNorm);
            if (lw.attention instanceof MlaWeights m) {
                l.mla = MlaLayerWeights.upload(dev, total, (MlaAttention) c.attention, m);
            } else {
                GqaWeights a = lw.gqa();
                l.wqkv = alloc(dev, total, s.qkv);
                long off = copy(l.wqkv, 0, a.wq);
                off = copy(l.wqkv, off, a.wk);
                copy(l.wqkv, off, a.wv);
                l.wo = put(dev, total, a.wo);
                l.qNorm = a.qNorm == null ? null : put(dev, total, a.qNorm);
                l.kNorm = a.kNorm == null ? null : put(dev, total, a.kNorm);
                l.qkvBias = putFloats(dev, total, HostLayout.qkvBias(a));
            }
            l.moe = lw.isMoe();
            if (l.moe) {
                l.router = put(dev, total, lw.moe.router);
                l.gate = stack(dev, total, lw.moe.expertGate, s.expert);
                l.up = stack(dev, total, lw.moe.expertUp, s.expert);
                l.down = stack(dev, total, lw.moe.expertDown, s.expert);
                l.routerBias = putFloats(dev, total, HostLayout.routerBias(lw.moe));
                if (lw.moe.shared != null) {
                    l.sharedGate = put(dev, total, lw.moe.shared.gate());
                    l.sharedUp = put(dev, total, lw.moe.shared.up());
                    l.sharedDown = put(dev, total, lw.moe.shared.down());
                }
                l.sharedGateRow = lw.moe.sharedGate == null ? null : put(dev, total, lw.moe.sharedGate);
            } else {
                l.gate = put(dev, total, lw.dense.gate());
                l.up = put(dev, total, lw.dense.up());
                l.down = put(dev, total, lw.dense.down());
            }
            layers[i] = l;
        }
        return new DeviceWeights(emb, norm, head, layers, total[0]);
    }

    /** Random weights: matrices uniform in ±1/sqrt(fan_in), norms 1 ± 0.05, embedding ±1; generated on the GPU. */
    static DeviceWeights synthetic(CudaDevice dev, ModelConfig c, long seed) {
        Shapes s = Shapes.of(c);
        long[] total = {0};
        long h = c.hiddenSize;
        long[] counter = {seed};
        CUdeviceptr emb = random(dev, total, counter, (long) c.vocabSize * h, 1f, 0f);
        CUdeviceptr norm = random(dev, total, counter, h, 0.05f, 1f);
        CUdeviceptr head = c.tieWordEmbeddings ? emb
                : random(dev, total, counter, (long) c.vocabSize * h, (float) (1 / Math.sqrt(h)), 0f);
        Layer[] layers = new Layer[c.numLayers];
        float inH = (float) (1 / Math.sqrt(h));
        for (int i = 0; i < c.numLayers; i++) {
            Layer l = new Layer();
            l.attnNorm = random(dev, total, counter, h, 0.05f, 1f);
            l.ffnNorm = random(dev, total, counter, h, 0.05f, 1f);
            if (c.attention instanceof MlaAttention a) {
                l.mla = MlaLayerWeights.synthetic(dev, total, counter, c, a);
            } else {    // GQA: the random stream Qwen3-MoE / Mixtral / OLMoE / GLM / Qwen2-MoE always drew
                l.wqkv = random(dev, total, counter, s.qkv, inH, 0f);
                l.wo = random(dev, total, counter, s.o, (float) (1 / Math.sqrt(c.qDim())), 0f);
                l.qNorm = s.qn == 0 ? null : random(dev, total, counter, s.qn, 0.05f, 1f);
                l.kNorm = s.kn == 0 ? null : random(dev, total, counter, s.kn, 0.05f, 1f);
                if (c.attention instanceof GqaAttention g && g.qkvBias()) {
                    l.qkvBias = putFloats(dev, total, HostLayout.syntheticFloats(c.qDim() + 2 * c.kvDim(), counter[0]++, 0.1f));
                }
            }
            l.moe = c.isMoeLayer(i);
            if (l.moe) {
                long n = s.expert * c.numExperts;
                l.router = random(dev, total, counter, s.router, inH, 0f);
                l.gate = random(dev, total, counter, n, inH, 0f);
                l.up = random(dev, total, counter, n, inH, 0f);
                l.down = random(dev, total, counter, n, (float) (1 / Math.sqrt(c.moeIntermediateSize)), 0f);
                syntheticShared(dev, c, l, total, counter);
            } else {
                l.gate = random(dev, total, counter, s.denseUp, inH, 0f);
                l.up = random(dev, total, counter, s.denseUp, inH, 0f);
                l.down = random(dev, total, counter, s.denseDown, (float) (1 / Math.sqrt(c.denseIntermediateSize)), 0f);
            }
            layers[i] = l;
        }
        dev.sync();
        return new DeviceWeights(emb, norm, head, layers, total[0]);
    }

    /** The parts only the later architectures have (nothing for Qwen3-MoE / Mixtral / OLMoE: their random stream
     *  and so their synthetic weights stay as they were): correction bias, shared experts, shared-expert gate. */
    private static void syntheticShared(CudaDevice dev, ModelConfig c, Layer l, long[] total, long[] counter) {
        long h = c.hiddenSize, si = c.sharedExpertIntermediateSize;
        float inH = (float) (1 / Math.sqrt(h));
        if (c.router.hasCorrectionBias()) {
            l.routerBias = putFloats(dev, total, HostLayout.syntheticFloats(c.numExperts, counter[0]++, 0.01f));
        }
        if (si > 0) {
            l.sharedGate = random(dev, total, counter, si * h, inH, 0f);
            l.sharedUp = random(dev, total, counter, si * h, inH, 0f);
            l.sharedDown = random(dev, total, counter, si * h, (float) (1 / Math.sqrt(si)), 0f);
        }
        if (c.sharedExpertGated) {
            l.sharedGateRow = random(dev, total, counter, h, inH, 0f);
        }
    }

    static CUdeviceptr putFloats(CudaDevice dev, long[] total, float[] f) {
        if (f == null) {
            return null;
        }
        total[0] += 4L * f.length;
        CUdeviceptr p = dev.alloc(4L * f.length);
        cuMemcpyHtoD(p, Pointer.to(f), 4L * f.length);
        return p;
    }

    static CUdeviceptr random(CudaDevice dev, long[] total, long[] counter, long n, float scale, float offset) {
        CUdeviceptr p = alloc(dev, total, n);
        int blocks = (int) Math.min(132L * 16, (n + 255) / 256);
        dev.launch("fill_random_bf16", blocks, 1, 256, p, n, counter[0]++ * 0x9E3779B97F4A7C15L, scale, offset);
        return p;
    }

    static CUdeviceptr alloc(CudaDevice dev, long[] total, long elements) {
        total[0] += elements * 2;
        return dev.alloc(elements * 2);
    }

    static CUdeviceptr put(CudaDevice dev, long[] total, TensorView t) {
        CUdeviceptr p = alloc(dev, total, t.numel());
        copy(p, 0, t);
        return p;
    }

    private static CUdeviceptr stack(CudaDevice dev, long[] total, TensorView[] ts, long each) {
        CUdeviceptr p = alloc(dev, total, each * ts.length);
        long off = 0;
        for (TensorView t : ts) {
            off = copy(p, off, t);
        }
        return p;
    }

    /** Copies t as bf16 to dst + byteOffset; returns the offset after it. */
    static long copy(CUdeviceptr dst, long byteOffset, TensorView t) {
        ByteBuffer b = t.dtype == Dtype.BF16 ? t.bytes() : toBf16(t);
        long n = t.numel() * 2;
        cuMemcpyHtoD(dst.withByteOffset(byteOffset), Pointer.to(b), n);
        return byteOffset + n;
    }

    static ByteBuffer toBf16(TensorView t) {
        int n = Math.toIntExact(t.numel());
        ByteBuffer b = ByteBuffer.allocateDirect(n * 2).order(ByteOrder.LITTLE_ENDIAN);
        float[] chunk = new float[4096];
        for (int i = 0; i < n; i += chunk.length) {
            int m = Math.min(chunk.length, n - i);
            t.toFloat(i, chunk, 0, m);
            for (int j = 0; j < m; j++) {
                b.putShort(Dtype.floatToBf16(chunk[j]));
            }
        }
        b.flip();
        return b;
    }
}
