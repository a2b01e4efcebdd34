package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.attention.MlaAttention;

/**
 * How the CUDA backend lays out MLA (DeepSeek-V2 / V3) for the GQA attention kernels, host side only (tested
 * without a GPU). Like the CPU backend (docs/architectures.md, "The MLA K/V cache") the cache holds each position's
 * decompressed per-head key [k_nope | rotated k_rope] and value, one K/V head per query head; both are padded with
 * zeros to one width {@link #headDim}, since the attention kernels read K and V of the same width. The zero tail of
 * every value head makes a zero tail in every attention output head, which {@link #padHeadColumns}'s zero columns
 * of o_proj multiply by zero.
 */
final class MlaLayout {
    /** The attention kernels' largest head width (kernels/attention.cuh ATT_MAXD). */
    static final int MAX_HEAD_DIM = 256;
    /** kernels/mla_rope_kv.cuh MLAX_MAXDR. */
    static final int MAX_ROPE_DIM = 256;
    /** The GQA staged attention's widths (kernels/attention_staged.cuh: K and V rows read whole). */
    static final int[] STAGED_WIDTHS = {16, 32, 64, 128};
    /** The padded width d and value width v of each attention_staged_d{d}v{v} entry
     *  (kernels/attention_staged_mla.cuh: d key dims, only v value dims read): qk 128 + 64 / v 128 is
     *  DeepSeek-V2(-Lite), V3, Moonlight and Kimi-K2. */
    static final int[][] STAGED_MLA_WIDTHS = {{192, 128}};

    private MlaLayout() {
    }

    /** The padded K/V head width: max(qk_head_dim, v_head_dim) rounded up to 8 (whole split-row groups per head). */
    static int headDim(MlaAttention a) {
        return (Math.max(a.qkHeadDim(), a.vHeadDim()) + 7) / 8 * 8;
    }

    /**
     * The staged attention entry for this config's padded heads ({@code kvSuffix}: "", "_bf16" or "_fp8"):
     * {@code attention_staged_d{d}} where d is a GQA staged width, {@code attention_staged_d{d}v{v}} where
     * (d, v_head_dim) has an MLA entry (the value rows' zero tail never read), else null: the block kernel runs.
     * Either gives the block kernel's bits.
     */
    static String stagedAttention(MlaAttention a, String kvSuffix) {
        int d = headDim(a);
        for (int w : STAGED_WIDTHS) {
            if (d == w) {
                return "attention_staged_d" + d + kvSuffix;
            }
        }
        for (int[] dv : STAGED_MLA_WIDTHS) {
            if (d == dv[0] && a.vHeadDim() == dv[1]) {
                return "attention_staged_d" + d + "v" + a.vHeadDim() + kvSuffix;
            }
        }
        return null;
    }

    /** Elements of one position's keys (and, separately, values) in a layer's cache: GQA kv_dim, MLA heads × headDim. */
    static int cacheWidth(ModelConfig c) {
        return c.attention instanceof MlaAttention a ? a.numHeads() * headDim(a) : c.kvDim();
    }

    /**
     * o_proj [rows][heads × vd] (bf16 bits) as [rows][heads × d]: head h's vd columns at h·d, then d − vd zeros, so
     * the product over the padded attention output equals the one over the unpadded output.
     */
    static short[] padHeadColumns(short[] w, int rows, int heads, int vd, int d) {
        if ((long) rows * heads * vd != w.length || d < vd) {
            throw new IllegalArgumentException("o_proj of " + w.length + " elements is not [" + rows + "][" + heads
                    + " x " + vd + "] or cannot pad to " + d);
        }
        short[] out = new short[rows * heads * d];
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                System.arraycopy(w, (r * heads + h) * vd, out, (r * heads + h) * d, vd);
            }
        }
        return out;
    }

    /** Why the CUDA kernels cannot run this MLA config (their limits), or null. */
    static String unsupported(ModelConfig c, MlaAttention a) {
        if (headDim(a) > MAX_HEAD_DIM) {
            return "MLA heads of " + a.qkHeadDim() + " / " + a.vHeadDim() + " dims are wider than the attention "
                    + "kernels' " + MAX_HEAD_DIM;
        }
        if (a.qkRopeHeadDim() % 2 != 0 || a.qkRopeHeadDim() > MAX_ROPE_DIM) {
            return "qk_rope_head_dim must be even and at most " + MAX_ROPE_DIM;
        }
        if (a.kvLoraRank() % 8 != 0 || a.qLoraRank() % 8 != 0) {
            return "kv_lora_rank and q_lora_rank must be multiples of 8";
        }
        return null;
    }
}
