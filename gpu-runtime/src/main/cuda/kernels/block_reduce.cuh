// Warp and block reductions (sum, max) in a fixed order: the batch-invariance building block.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "types.cuh"

__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the block in a fixed order (lanes butterfly, then warps in index order). Needs blockDim % 32 == 0,
// scratch of 32 floats; every thread gets the result.
__device__ float blockSum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warpSum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float s = 0.f;
    for (int w = 0; w < nw; w++) s += scratch[w];
    return s;
}

__device__ float blockMax(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warpMax(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float s = -INFINITY;
    for (int w = 0; w < nw; w++) s = fmaxf(s, scratch[w]);
    return s;
}

// The largest of v[0 .. n) over one warp, ties to the lower index: each lane scans v[lane], v[lane + 32], ..., then
// the butterfly; every lane gets (best, bi). best starts at floor (values not above it are never picked; bi stays
// 0x7fffffff if none is). The routers' top-k rounds.
__device__ __forceinline__ void warpArgmax(const float* v, int n, float floor, int lane, float& best, int& bi) {
    best = floor;
    bi = 0x7fffffff;
    for (int e = lane; e < n; e += 32) {
        float p = v[e];
        if (p > best || (p == best && e < bi)) { best = p; bi = e; }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        float ob = __shfl_xor_sync(0xffffffffu, best, o);
        int oi = __shfl_xor_sync(0xffffffffu, bi, o);
        if (ob > best || (ob == best && oi < bi)) { best = ob; bi = oi; }
    }
}
