package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.attention.MlaAttention;
import io.routingreplay.runtime.model.attention.MlaWeights;
import io.routingreplay.runtime.weights.Dtype;
import io.routingreplay.runtime.weights.TensorView;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

import java.nio.ByteOrder;

import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;

/**
 * An MLA layer's attention tensors on the device (bf16), as {@link MlaAttentionStep} reads them: the checkpoint's
 * matrices as they are, but o_proj with zero columns after each head's v_head_dim ({@link MlaLayout#padHeadColumns}).
 * {@code q} is set without q_lora_rank, {@code qA / qANorm / qB} with it.
 */
final class MlaLayerWeights {
    CUdeviceptr q, qA, qANorm, qB;
    /** kv_a_proj_with_mqa [kv_lora_rank + qk_rope_head_dim][hidden]: the latent's rows, then the key's rope rows. */
    CUdeviceptr kvA;
    CUdeviceptr kvANorm, kvB;
    /** o_proj [hidden][heads × MlaLayout.headDim]. */
    CUdeviceptr oPadded;

    static MlaLayerWeights upload(CudaDevice dev, long[] total, MlaAttention a, MlaWeights w) {
        MlaLayerWeights l = new MlaLayerWeights();
        if (w.qA != null) {
            l.qA = DeviceWeights.put(dev, total, w.qA);
            l.qANorm = DeviceWeights.put(dev, total, w.qANorm);
            l.qB = DeviceWeights.put(dev, total, w.qB);
        } else {
            l.q = DeviceWeights.put(dev, total, w.q);
        }
        l.kvA = DeviceWeights.put(dev, total, w.kvA);
        l.kvANorm = DeviceWeights.put(dev, total, w.kvANorm);
        l.kvB = DeviceWeights.put(dev, total, w.kvB);
        int rows = (int) w.wo.shape[0], d = MlaLayout.headDim(a);
        short[] padded = MlaLayout.padHeadColumns(bf16Bits(w.wo), rows, a.numHeads(), a.vHeadDim(), d);
        l.oPadded = DeviceWeights.alloc(dev, total, padded.length);
        cuMemcpyHtoD(l.oPadded, Pointer.to(padded), 2L * padded.length);
        return l;
    }

    /** Random weights (DeviceWeights.synthetic's scales); o_proj's padded columns are random too: they multiply
     *  the attention output's zero tail. */
    static MlaLayerWeights synthetic(CudaDevice dev, long[] total, long[] counter, ModelConfig c, MlaAttention a) {
        MlaLayerWeights l = new MlaLayerWeights();
        long h = c.hiddenSize, heads = a.numHeads(), qOut = heads * a.qkHeadDim();
        float inH = (float) (1 / Math.sqrt(h));
        if (a.qLoraRank() > 0) {
            long qr = a.qLoraRank();
            l.qA = DeviceWeights.random(dev, total, counter, qr * h, inH, 0f);
            l.qANorm = DeviceWeights.random(dev, total, counter, qr, 0.05f, 1f);
            l.qB = DeviceWeights.random(dev, total, counter, qOut * qr, (float) (1 / Math.sqrt(qr)), 0f);
        } else {
            l.q = DeviceWeights.random(dev, total, counter, qOut * h, inH, 0f);
        }
        long kvr = a.kvLoraRank();
        l.kvA = DeviceWeights.random(dev, total, counter, (kvr + a.qkRopeHeadDim()) * h, inH, 0f);
        l.kvANorm = DeviceWeights.random(dev, total, counter, kvr, 0.05f, 1f);
        l.kvB = DeviceWeights.random(dev, total, counter, heads * (a.qkNopeHeadDim() + a.vHeadDim()) * kvr,
                (float) (1 / Math.sqrt(kvr)), 0f);
        l.oPadded = DeviceWeights.random(dev, total, counter, h * heads * MlaLayout.headDim(a),
                (float) (1 / Math.sqrt(heads * a.vHeadDim())), 0f);
        return l;
    }

    /** A tensor's elements as bf16 bits (bf16 copied, f16 / f32 rounded as DeviceWeights.copy rounds them). */
    static short[] bf16Bits(TensorView t) {
        java.nio.ByteBuffer b = (t.dtype == Dtype.BF16 ? t.bytes() : DeviceWeights.toBf16(t)).duplicate()
                .order(ByteOrder.LITTLE_ENDIAN);
        short[] s = new short[Math.toIntExact(t.numel())];
        b.asShortBuffer().get(s);
        return s;
    }
}
