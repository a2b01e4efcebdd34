// The staged attention at MLA's padded head widths (attention_staged.cuh with DK != DV, one query head per K/V head).
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
// MLA's decompressed cache (mla_rope_kv.cuh) pads each head's key [k_nope | k_rope] and value to one width d =
// MlaLayout.headDim: 192 for DeepSeek-V2-Lite / V2 / V3, Moonlight and Kimi-K2 (qk 128 + 64, v 128), not one of the
// GQA staged widths, so MLA ran the block `attention`, which also reads the 64 zero dims of every value row. These
// entries read the d key dims and the v_head_dim value dims only and give `attention`'s bits (attention_staged.cuh);
// grid and arguments are the GQA staged entries' with nKV = nH (MlaAttentionStep, MlaLayout.stagedAttention).
#pragma once
#include "attention_staged.cuh"

// the GQA entries' ring depth and blocks per SM; K stages of 128 bytes per position (KH 2: [64 positions][128
// bytes], 1.2x faster in attention_bench.cu's MLA case on an H100 for fp32 and bf16) or of 64 bytes (KH 1:
// [128 positions][64 bytes], faster for fp8). Same bits either way; attention_bench.cu times the other settings
#define SATT_MLA_STAGES SATT_STAGES
#define SATT_MLA_BLOCKS 4
#define SATT_KERNEL_MLA(NAME, DK, DV, KVT, KH) extern "C" __global__ void __launch_bounds__(SATT_THREADS, SATT_MLA_BLOCKS) \
    NAME(SATT_ARGS_T(KVT)) { stagedAttentionBody<DK, DV, 1, SATT_MLA_STAGES, KVT, false, KH>(SATT_PASS); }
SATT_KERNEL_MLA(attention_staged_d192v128, 192, 128, float, 2)
SATT_KERNEL_MLA(attention_staged_d192v128_bf16, 192, 128, bf16, 2)
SATT_KERNEL_MLA(attention_staged_d192v128_fp8, 192, 128, fp8, 1)
