package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.attention.MlaAttention;
import jcuda.driver.CUdeviceptr;

/**
 * One layer's MLA self-attention on the CUDA backend (DeepSeek-V2 / V3, Moonlight), from the normed split rows
 * {@code ws.xnSplit} to the residual {@code ws.x += o_proj(attention)}: what {@link ForwardPass} launches in place
 * of the GQA part for an MLA config. It computes what the CPU backend's {@code CpuMlaAttention} computes, in the
 * same form: per position the decompressed per-head key [k_nope | rotated k_rope] and value go into the paged
 * cache (padded with zeros to one width, {@link MlaLayout}), and the existing GQA attention kernels attend with one
 * K/V head per query head. Products (all on ForwardPass's dense GEMMs, so batch-invariant as the GQA ones):
 * <pre>
 *   q      = q_b_proj(rmsnorm(q_a_proj(x), q_a_layernorm))  or q_proj(x)        [T][heads (nope + rope)]
 *   latent = kv_a_proj_with_mqa(x)[:kv_lora_rank], kRope = its last qk_rope_head_dim outputs (two products
 *            over the two row ranges of the one matrix: each output's sum is the same)
 *   kvb    = kv_b_proj(rmsnorm(latent, kv_a_layernorm))                            [T][heads (nope + v)]
 *   mla_rope_kv: RoPE (YaRN's attention factor on cos / sin), q padded, K and V rows into the cache
 *   attention (staged where MlaLayout.stagedAttention has an entry: padded width 16/32/64/128, or 192 with
 *            v_head_dim 128, which reads only the value's 128 dims; else block) + attention_combine, scale =
 *   qk_head_dim^-0.5 · mscale² (MlaAttention.softmaxScale, the CPU's float)
 *   x     += o_proj(attention output) over the padded heads (o_proj's zero columns meet the outputs' zero tails)
 * </pre>
 * The latent cache with the absorbed form (kernels/mla_attention.cuh, written and benched) is the next step:
 * a cache of kv_lora_rank + qk_rope_head_dim values per position instead of 2 · heads · headDim.
 */
final class MlaAttentionStep {
    private final CudaDevice dev;
    private final ModelConfig c;
    private final MlaAttention a;
    private final DeviceWeights w;
    private final Workspace ws;
    private final int blockSize, d;
    private final String kvSuffix;
    /** attention_staged_d{d}[v{v}] where MlaLayout has one for these widths, else null (the block kernel runs). */
    private final String stagedAttention;
    private final float scale, attnFactor;
    /** fp32 products: q_a [T][q_lora_rank] (null without), q [T][heads (nope + rope)], latent [T][kv_lora_rank],
     *  kRope [T][rope], kvb [T][heads (nope + v)]; split rows: qaSplit, latentSplit. The rotated q [T][heads d],
     *  the attention partials [T][heads][ATT_SPLITS][d + 2] and its split output rows [T][heads d] are the
     *  workspace's q, attnPart and attn, which Workspace sizes from MlaLayout for an MLA config. */
    private final CUdeviceptr qa, qaSplit, qFull, latent, latentSplit, kRope, kvb;

    MlaAttentionStep(CudaDevice dev, ModelConfig c, MlaAttention a, DeviceWeights w, Workspace ws, int blockSize,
                     String kvSuffix) {
        this.dev = dev;
        this.c = c;
        this.a = a;
        this.w = w;
        this.ws = ws;
        this.blockSize = blockSize;
        this.kvSuffix = kvSuffix;
        this.d = MlaLayout.headDim(a);
        this.stagedAttention = MlaLayout.stagedAttention(a, kvSuffix);
        this.scale = (float) a.softmaxScale(c.rope);
        this.attnFactor = (float) c.rope.attentionFactor();
        long T = ws.maxTokens;
        int heads = a.numHeads();
        qa = a.qLoraRank() > 0 ? dev.alloc(4L * T * a.qLoraRank()) : null;
        qaSplit = a.qLoraRank() > 0 ? dev.alloc(4L * T * a.qLoraRank()) : null;
        qFull = dev.alloc(4L * T * heads * a.qkHeadDim());
        latent = dev.alloc(4L * T * a.kvLoraRank());
        latentSplit = dev.alloc(4L * T * a.kvLoraRank());
        kRope = dev.alloc(4L * T * a.qkRopeHeadDim());
        kvb = dev.alloc(4L * T * heads * (a.qkNopeHeadDim() + a.vHeadDim()));
    }

    /** Device bytes of the buffers above for {@code maxTokens} (0 for a GQA config), to size the K/V cache; the
     *  workspace's (Workspace.bytes) are not counted again. */
    static long workspaceBytes(ModelConfig c, int maxTokens) {
        if (!(c.attention instanceof MlaAttention a)) {
            return 0;
        }
        long heads = a.numHeads();
        long perToken = 2L * a.qLoraRank() + heads * a.qkHeadDim() + 2L * a.kvLoraRank() + a.qkRopeHeadDim()
                + heads * (a.qkNopeHeadDim() + a.vHeadDim());
        return 4 * perToken * maxTokens;
    }

    /**
     * Layer {@code l}'s attention over the step's {@code T} tokens: reads ws.xnSplit, writes the layer's K/V cache
     * rows at the tokens' slots, adds the projected output to ws.x.
     */
    void enqueue(ForwardPass p, int l, int T, CUdeviceptr positions, CUdeviceptr slots, CUdeviceptr tokSeq,
                 CUdeviceptr meta, CUdeviceptr bt, CUdeviceptr kCache, CUdeviceptr vCache, boolean blockAttention) {
        MlaLayerWeights lw = w.layers[l].mla;
        int H = c.hiddenSize, heads = a.numHeads(), kvr = a.kvLoraRank(), rope = a.qkRopeHeadDim();
        float eps = c.rmsNormEps;
        if (a.qLoraRank() > 0) {
            int qr = a.qLoraRank();
            p.projection(T, qr, ws.xnSplit, H, lw.qA, qa);
            dev.launch("rmsnorm", T, 1, 256, qa, null, lw.qANorm, null, qaSplit, qr, eps);
            p.projection(T, heads * a.qkHeadDim(), qaSplit, qr, lw.qB, qFull);
        } else {
            p.projection(T, heads * a.qkHeadDim(), ws.xnSplit, H, lw.q, qFull);
        }
        p.projection(T, kvr, ws.xnSplit, H, lw.kvA, latent);
        p.projection(T, rope, ws.xnSplit, H, lw.kvA.withByteOffset(2L * kvr * H), kRope);
        dev.launch("rmsnorm", T, 1, 256, latent, null, lw.kvANorm, null, latentSplit, kvr, eps);
        p.projection(T, heads * (a.qkNopeHeadDim() + a.vHeadDim()), latentSplit, kvr, lw.kvB, kvb);
        dev.launch("mla_rope_kv" + kvSuffix, T, 1, 256, qFull, kRope, kvb, positions, slots, ws.invFreq, attnFactor,
                heads, a.qkNopeHeadDim(), rope, a.vHeadDim(), d, a.ropeInterleave() ? 1 : 0, ws.q, kCache, vCache);
        boolean staged = stagedAttention != null && !blockAttention;
        dev.launch3(staged ? stagedAttention : "attention" + kvSuffix, staged ? heads : T, staged ? T : heads,
                Workspace.ATT_SPLITS, 128, ws.q, kCache, vCache, tokSeq, positions, bt, meta, blockSize, heads, heads,
                d, scale, ws.attnPart);
        dev.launch("attention_combine", T, (heads + 7) / 8, 256, ws.attnPart, positions, heads, d, ws.attn);
        p.outputProjection(T, H, ws.attn, heads * d, lw.oPadded, ws.x);
    }
}
