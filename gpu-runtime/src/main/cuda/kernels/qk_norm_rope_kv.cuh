// q/k norm + RoPE + K/V cache write (one kernel per cache element type).
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "block_reduce.cuh"
#include "kv_elements.cuh"

// ---------------------------------------------------------------------------------------------------------------
// q/k norm (none, per head, or full width) + RoPE (rotate-half, HF convention) + K/V write into the paged cache.
// qkv row: [q (nH*D) | k (nKV*D) | v (nKV*D)]; q goes to qOut, k/v to cache slot slots[t] (cache layout
// [slot][kvHead][D]). qkMode: 0 none, 1 per head (weight [D]), 2 full width (weights [nH*D], [nKV*D]).
// D <= QKR_MAXD. Grid (tokens, ceil((nH + 2 nKV) / 8)), QKR_THREADS threads: each warp takes one head span (q, k or v) through
// shared memory; the block computes the token's cos/sin table once. Every element gets the arithmetic of the
// one-block-per-token, 128-thread kernel this replaced: per-head sums over i = lane, lane + 32, ... then warpSum;
// full-width sums as that 128-thread block formed them (fullWidthSum).
// ---------------------------------------------------------------------------------------------------------------
#define QKR_THREADS 256
#define QKR_MAXD 256
#define QKR_SUM_THREADS 128


// d[0..D) = s[0..D) by one warp (fp32 or bf16 destination), 16 source bytes per lane when vec (D % 4 == 0)
template <typename T>
__device__ __forceinline__ void copySpan(T* d, const float* s, int D, bool vec) {
    int lane = threadIdx.x & 31;
    if (vec) {
        for (int i = 4 * lane; i < D; i += 128) kvStore4(d + i, s + i);
    } else {
        for (int i = lane; i < D; i += 32) kvStore(d + i, s[i]);
    }
}

// sum of v[i]^2 over n elements: QKR_SUM_THREADS strided partials, warpSum each, warps added in order (= blockSum
// at QKR_SUM_THREADS threads). Called by threads 0..QKR_SUM_THREADS-1; lane 0 of each warp writes part[warp].
__device__ __forceinline__ void fullWidthSum(const float* v, int n, float* part) {
    float ss = 0.f;
    for (int i = threadIdx.x; i < n; i += QKR_SUM_THREADS) ss += v[i] * v[i];
    ss = warpSum(ss);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = ss;
}

template <typename KVT>
__device__ __forceinline__ void qkNormRopeKv(const float* qkv, const int* positions, const int* slots,
                                             const bf16* qNorm, const bf16* kNorm, int qkMode, float eps,
                                             const float* invFreq, float* qOut, KVT* kCache, KVT* vCache, int nH,
                                             int nKV, int D) {
    __shared__ float cosS[QKR_MAXD / 2], sinS[QKR_MAXD / 2];
    __shared__ __align__(16) float spanS[QKR_THREADS / 32][QKR_MAXD];
    __shared__ float partS[2][QKR_SUM_THREADS / 32];
    int t = blockIdx.x, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int qDim = nH * D, kvDim = nKV * D, half = D / 2;
    const float* row = qkv + (size_t)t * (qDim + 2 * kvDim);
    float pos = (float)positions[t];
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float ang = pos * invFreq[i];
        float c = cosf(ang), s = sinf(ang);
        cosS[i] = c;
        sinS[i] = s;
    }
    if (qkMode == 2 && threadIdx.x < QKR_SUM_THREADS) {
        fullWidthSum(row, qDim, partS[0]);
        fullWidthSum(row + qDim, kvDim, partS[1]);
    }
    __syncthreads();
    int task = blockIdx.y * (blockDim.x >> 5) + warp; // q heads, then k heads, then v heads
    if (task >= nH + 2 * nKV) return;
    const float* src = row + (size_t)task * D;
    float* s = spanS[warp];
    bool vec = (D & 3) == 0;
    copySpan(s, src, D, vec);
    __syncwarp();
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
        } else if (qkMode == 2) {
            const float* part = partS[isQ ? 0 : 1];
            float ss = 0.f;
            for (int w = 0; w < QKR_SUM_THREADS / 32; w++) ss += part[w];
            float inv = 1.0f / sqrtf(ss / (float)(isQ ? qDim : kvDim) + eps);
            const bf16* w = (isQ ? qNorm : kNorm) + (size_t)hh * D;
            for (int i = lane; i < D; i += 32) s[i] = __bfloat162float(w[i]) * (s[i] * inv);
        }
        // RoPE in place: this lane owns the pairs (i, i + half) it writes
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

#define QK_ARGS const float* qkv, const int* positions, const int* slots, const bf16* qNorm, const bf16* kNorm, \
    int qkMode, float eps, const float* invFreq, float* qOut
extern "C" __global__ void __launch_bounds__(QKR_THREADS)
qk_norm_rope_kv(QK_ARGS, float* kCache, float* vCache, int nH, int nKV, int D) {
    qkNormRopeKv<float>(qkv, positions, slots, qNorm, kNorm, qkMode, eps, invFreq, qOut, kCache, vCache, nH, nKV, D);
}
extern "C" __global__ void __launch_bounds__(QKR_THREADS)
qk_norm_rope_kv_bf16(QK_ARGS, bf16* kCache, bf16* vCache, int nH, int nKV, int D) {
    qkNormRopeKv<bf16>(qkv, positions, slots, qNorm, kNorm, qkMode, eps, invFreq, qOut, kCache, vCache, nH, nKV, D);
}
extern "C" __global__ void __launch_bounds__(QKR_THREADS)
qk_norm_rope_kv_fp8(QK_ARGS, fp8* kCache, fp8* vCache, int nH, int nKV, int D) {
    qkNormRopeKv<fp8>(qkv, positions, slots, qNorm, kNorm, qkMode, eps, invFreq, qOut, kCache, vCache, nH, nKV, D);
}
