// Weighted combine of the expert outputs + residual.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "types.cuh"

// ---------------------------------------------------------------------------------------------------------------
// Weighted combine + residual: x[t] += sum_k w[t,k] * y[pairSlot[t*K+k]] (k in order: fixed reduction order).
// Weights and row pointers are read once per block; 4 consecutive elements per thread (float4) when H % 4 == 0.
// ---------------------------------------------------------------------------------------------------------------
#define MOE_MAXK 32
extern "C" __global__ void moe_combine(float* x, const float* ySorted, const int* pairSlot, const float* topW, int K,
                                       int H) {
    __shared__ float wS[MOE_MAXK];
    __shared__ const float* yS[MOE_MAXK];
    int t = blockIdx.x;
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
        wS[k] = topW[t * K + k];
        yS[k] = ySorted + (size_t)pairSlot[t * K + k] * H;
    }
    __syncthreads();
    float* xr = x + (size_t)t * H;
    if ((H & 3) == 0) {
        for (int i = 4 * threadIdx.x; i < H; i += 4 * blockDim.x) {
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
            float4 xv = *reinterpret_cast<float4*>(xr + i);
            xv.x += s0;
            xv.y += s1;
            xv.z += s2;
            xv.w += s3;
            *reinterpret_cast<float4*>(xr + i) = xv;
        }
    } else {
        for (int i = threadIdx.x; i < H; i += blockDim.x) {
            float s = 0.f;
            for (int k = 0; k < K; k++) s += wS[k] * yS[k][i];
            xr[i] += s;
        }
    }
}
