// RMSNorm into fp32 and/or split rows.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "block_reduce.cuh"
#include "bf16_split.cuh"

// ---------------------------------------------------------------------------------------------------------------
// RMSNorm of row rowIdx[r] (or r) into out[r] (fp32, when out is given) and/or outSplit[r] (split row, for a GEMM):
// x / sqrt(mean(x^2) + eps) * w, as torch computes it in fp32.
// Thread tid sums squares over i = tid, tid + blockDim, ... (the fixed order), then blockSum. Rows of up to
// RMS_CACHE * blockDim elements stay in registers for the output pass, with the weights loaded before the sum.
// ---------------------------------------------------------------------------------------------------------------
#define RMS_CACHE 8

// One output element: into the fp32 row o and/or the split row os (either may be null).
__device__ __forceinline__ void rmsStore(float* o, float* os, int i, float v) {
    if (o) o[i] = v;
    if (os) storeSplit(os, i, v);
}

// The cached path after the loads: thread tid holds elements v[j] = x[tid + j * nt] and weights wv[j] (zeros past
// H), squares them in order, blockSum, then stores w * (x * inv). Shared with moe_combine_rmsnorm, bit for bit.
__device__ __forceinline__ void rmsNormCached(const float (&v)[RMS_CACHE], const float (&wv)[RMS_CACHE], int tid,
                                              int nt, int H, float eps, float* scratch, float* o, float* os) {
    float ss = 0.f;
#pragma unroll
    for (int j = 0; j < RMS_CACHE; j++)
        if (tid + j * nt < H) ss += v[j] * v[j];
    ss = blockSum(ss, scratch);
    float inv = 1.0f / sqrtf(ss / (float)H + eps);
#pragma unroll
    for (int j = 0; j < RMS_CACHE; j++)
        if (tid + j * nt < H) rmsStore(o, os, tid + j * nt, wv[j] * (v[j] * inv));
}

extern "C" __global__ void rmsnorm(const float* x, const int* rowIdx, const bf16* w, float* out, float* outSplit,
                                   int H, float eps) {
    __shared__ float scratch[32];
    int r = blockIdx.x, tid = threadIdx.x, nt = blockDim.x;
    int src = rowIdx ? rowIdx[r] : r;
    const float* xr = x + (size_t)src * H;
    float* o = out ? out + (size_t)r * H : nullptr;
    float* os = outSplit ? outSplit + (size_t)r * H : nullptr;
    if (H <= RMS_CACHE * nt) {
        float v[RMS_CACHE], wv[RMS_CACHE];
#pragma unroll
        for (int j = 0; j < RMS_CACHE; j++) {
            int i = tid + j * nt;
            v[j] = i < H ? xr[i] : 0.f;
            wv[j] = i < H ? __bfloat162float(w[i]) : 0.f;
        }
        rmsNormCached(v, wv, tid, nt, H, eps, scratch, o, os);
        return;
    }
    float ss = 0.f;
    for (int i = tid; i < H; i += nt) ss += xr[i] * xr[i];
    ss = blockSum(ss, scratch);
    float inv = 1.0f / sqrtf(ss / (float)H + eps);
    for (int i = tid; i < H; i += nt) rmsStore(o, os, i, __bfloat162float(w[i]) * (xr[i] * inv));
}
