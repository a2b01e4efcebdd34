// q/k/v bias + q/k norm + partial RoPE + K/V cache write: the attention input of Qwen2-MoE (q/k/v bias) and GLM-4.5
// (q/k/v bias, per-head q/k norm, RoPE on the first head_dim x partial_rotary_factor dims of each head).
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "qk_norm_rope_kv.cuh" // copySpan, QKR_THREADS, QKR_MAXD, QK_ARGS

// ---------------------------------------------------------------------------------------------------------------
// qk_norm_rope_kv's kernel (same grid, threads and per-element arithmetic) with two more steps, in transformers'
// order: qkvBias [q (nH*D) | k (nKV*D) | v (nKV*D)] (fp32, or null) is added to the projected row first (nn.Linear's
// bias), then the per-head q/k norm (qkMode 0 or 1: full-width norm with a bias is no architecture's, the host never
// launches it), then RoPE (rotate-half) over dims [0, rotaryDim) of each head — pairs (i, i + rotaryDim / 2), the
// rest unrotated; invFreq holds rotaryDim / 2 frequencies. rotaryDim even, 2 <= rotaryDim <= D <= QKR_MAXD. The host
// launches it only for a config with a bias or partial rotary: every other config runs qk_norm_rope_kv, unchanged.
// (A copy of qkNormRopeKv rather than a template flag on it: the flag renames its shared arrays in the PTX of the
// existing kernels, which must stay byte for byte what the GPU checks validated.)
// ---------------------------------------------------------------------------------------------------------------
template <typename KVT>
__device__ __forceinline__ void qkvBiasNormRopeKv(const float* qkv, const int* positions, const int* slots,
                                                  const bf16* qNorm, const bf16* kNorm, int qkMode, float eps,
                                                  const float* invFreq, float* qOut, const float* qkvBias,
                                                  int rotaryDim, KVT* kCache, KVT* vCache, int nH, int nKV, int D) {
    __shared__ float cosS[QKR_MAXD / 2], sinS[QKR_MAXD / 2];
    __shared__ __align__(16) float spanS[QKR_THREADS / 32][QKR_MAXD];
    int t = blockIdx.x, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int qDim = nH * D, kvDim = nKV * D, half = rotaryDim / 2;
    const float* row = qkv + (size_t)t * (qDim + 2 * kvDim);
    float pos = (float)positions[t];
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float ang = pos * invFreq[i];
        cosS[i] = cosf(ang);
        sinS[i] = sinf(ang);
    }
    __syncthreads();
    int task = blockIdx.y * (blockDim.x >> 5) + warp; // q heads, then k heads, then v heads
    if (task >= nH + 2 * nKV) return;
    float* s = spanS[warp];
    bool vec = (D & 3) == 0;
    copySpan(s, row + (size_t)task * D, D, vec);
    __syncwarp();
    if (qkvBias) {
        const float* b = qkvBias + (size_t)task * D;
        for (int i = lane; i < D; i += 32) s[i] = __fadd_rn(s[i], b[i]);
        __syncwarp();
    }
    size_t slot = (size_t)slots[t];
    bool isQ = task < nH;
    int hh = isQ ? task : task < nH + nKV ? task - nH : task - nH - nKV;
    if (task < nH + nKV) {
        if (qkMode == 1) {
            float ss = 0.f;
            for (int i = lane; i < D; i += 32) ss += s[i] * s[i];
            ss = warpSum(ss);
            float inv = 1.0f / sqrtf(ss / (float)D + eps);
            const bf16* w = isQ ? qNorm : kNorm;
            for (int i = lane; i < D; i += 32) s[i] = __bfloat162float(w[i]) * (s[i] * inv);
        }
        __syncwarp();
        // RoPE in place on [0, rotaryDim): this lane owns the pairs (i, i + half) it writes
        for (int i = lane; i < half; i += 32) {
            float a = s[i], b = s[i + half], c = cosS[i], sn = sinS[i];
            s[i] = __fadd_rn(__fmul_rn(a, c), __fmul_rn(-b, sn));
            s[i + half] = __fadd_rn(__fmul_rn(b, c), __fmul_rn(a, sn));
        }
        __syncwarp();
    }
    if (isQ) copySpan(qOut + (size_t)t * qDim + (size_t)hh * D, s, D, vec);
    else copySpan((task < nH + nKV ? kCache : vCache) + (slot * nKV + hh) * D, s, D, vec);
}

#define QKB_ARGS QK_ARGS, const float* qkvBias, int rotaryDim
extern "C" __global__ void __launch_bounds__(QKR_THREADS)
qkv_bias_norm_rope_kv(QKB_ARGS, float* kCache, float* vCache, int nH, int nKV, int D) {
    qkvBiasNormRopeKv<float>(qkv, positions, slots, qNorm, kNorm, qkMode, eps, invFreq, qOut, qkvBias, rotaryDim,
                             kCache, vCache, nH, nKV, D);
}
extern "C" __global__ void __launch_bounds__(QKR_THREADS)
qkv_bias_norm_rope_kv_bf16(QKB_ARGS, bf16* kCache, bf16* vCache, int nH, int nKV, int D) {
    qkvBiasNormRopeKv<bf16>(qkv, positions, slots, qNorm, kNorm, qkMode, eps, invFreq, qOut, qkvBias, rotaryDim,
                            kCache, vCache, nH, nKV, D);
}
extern "C" __global__ void __launch_bounds__(QKR_THREADS)
qkv_bias_norm_rope_kv_fp8(QKB_ARGS, fp8* kCache, fp8* vCache, int nH, int nKV, int D) {
    qkvBiasNormRopeKv<fp8>(qkv, positions, slots, qNorm, kNorm, qkMode, eps, invFreq, qOut, qkvBias, rotaryDim,
                           kCache, vCache, nH, nKV, D);
}
