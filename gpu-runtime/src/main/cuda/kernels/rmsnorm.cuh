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
extern "C" __global__ void rmsnorm(const float* x, const int* rowIdx, const bf16* w, float* out, float* outSplit,
                                   int H, float eps) {
    __shared__ float scratch[32];
    int r = blockIdx.x, tid = threadIdx.x, nt = blockDim.x;
    int src = rowIdx ? rowIdx[r] : r;
    const float* xr = x + (size_t)src * H;
    float* o = out ? out + (size_t)r * H : nullptr;
    float* os = outSplit ? outSplit + (size_t)r * H : nullptr;
    auto put = [&](int i, float v) {
        if (o) o[i] = v;
        if (os) storeSplit(os, i, v);
    };
    float ss = 0.f;
    if (H <= RMS_CACHE * nt) {
        float v[RMS_CACHE], wv[RMS_CACHE];
#pragma unroll
        for (int j = 0; j < RMS_CACHE; j++) {
            int i = tid + j * nt;
            v[j] = i < H ? xr[i] : 0.f;
            wv[j] = i < H ? __bfloat162float(w[i]) : 0.f;
        }
#pragma unroll
        for (int j = 0; j < RMS_CACHE; j++)
            if (tid + j * nt < H) ss += v[j] * v[j];
        ss = blockSum(ss, scratch);
        float inv = 1.0f / sqrtf(ss / (float)H + eps);
#pragma unroll
        for (int j = 0; j < RMS_CACHE; j++)
            if (tid + j * nt < H) put(tid + j * nt, wv[j] * (v[j] * inv));
        return;
    }
    for (int i = tid; i < H; i += nt) ss += xr[i] * xr[i];
    ss = blockSum(ss, scratch);
    float inv = 1.0f / sqrtf(ss / (float)H + eps);
    for (int i = tid; i < H; i += nt) put(i, __bfloat162float(w[i]) * (xr[i] * inv));
}
