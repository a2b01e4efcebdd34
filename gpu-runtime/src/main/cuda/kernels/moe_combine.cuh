// Weighted combine of the expert outputs + residual.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "types.cuh"

// ---------------------------------------------------------------------------------------------------------------
// Weighted combine + residual: x[t] += sum_k w[t,k] * y[pairSlot[t*K+k]] (k in order: fixed reduction order).
// Weights and row pointers are read once per block; 4 consecutive elements per thread (float4) when H % 4 == 0.
// ---------------------------------------------------------------------------------------------------------------
#define MOE_MAXK 32

// The step of a block-strided loop: NT threads (int), or NT = 0: blockDim.x (unsigned), read in the step itself.
// Kept as each kernel always stepped: hoisting blockDim.x out of the loop or converting it to int moves or changes
// instructions in the kernel's PTX.
template <int NT>
__device__ __forceinline__ auto blockStep() {
    if constexpr (NT > 0) return NT;
    else return blockDim.x;
}

// Token t's K routing weights and expert-row pointers into shared memory (threads threadIdx.x, + blockStep<NT>(),
// ...), read once per block; the caller syncs before use. Shared with moe_combine_shared and moe_combine_rmsnorm.
template <int NT = 0>
__device__ __forceinline__ void moeLoadPairs(float* wS, const float** yS, const float* ySorted, const int* pairSlot,
                                             const float* topW, int t, int K, int H) {
    for (int k = threadIdx.x; k < K; k += blockStep<NT>()) {
        wS[k] = topW[t * K + k];
        yS[k] = ySorted + (size_t)pairSlot[t * K + k] * H;
    }
}

// sum_k wS[k] * yS[k][i .. i + 3], k in order (the fixed reduction order): the routed sum of 4 consecutive elements.
__device__ __forceinline__ float4 moeRoutedSum4(const float* wS, const float* const* yS, int K, int i) {
    float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
#pragma unroll 8
    for (int k = 0; k < K; k++) {
        float w = wS[k];
        float4 y = *reinterpret_cast<const float4*>(yS[k] + i);
        s0 += w * y.x;
        s1 += w * y.y;
        s2 += w * y.z;
        s3 += w * y.w;
    }
    return make_float4(s0, s1, s2, s3);
}

// moe_combine's float4 step: xr[i .. i + 3] += the routed sum; returns the new values.
__device__ __forceinline__ float4 moeCombine4(float* xr, const float* wS, const float* const* yS, int K, int i) {
    float4 s = moeRoutedSum4(wS, yS, K, i);
    float4 xv = *reinterpret_cast<float4*>(xr + i);
    xv.x += s.x;
    xv.y += s.y;
    xv.z += s.z;
    xv.w += s.w;
    *reinterpret_cast<float4*>(xr + i) = xv;
    return xv;
}

extern "C" __global__ void moe_combine(float* x, const float* ySorted, const int* pairSlot, const float* topW, int K,
                                       int H) {
    __shared__ float wS[MOE_MAXK];
    __shared__ const float* yS[MOE_MAXK];
    int t = blockIdx.x;
    moeLoadPairs(wS, yS, ySorted, pairSlot, topW, t, K, H);
    __syncthreads();
    float* xr = x + (size_t)t * H;
    if ((H & 3) == 0) {
        for (int i = 4 * threadIdx.x; i < H; i += 4 * blockDim.x) moeCombine4(xr, wS, yS, K, i);
    } else {
        for (int i = threadIdx.x; i < H; i += blockDim.x) {
            float s = 0.f;
            for (int k = 0; k < K; k++) s += wS[k] * yS[k][i];
            xr[i] += s;
        }
    }
}
