// Synthetic weights generated on the device (SplitMix64 counter hash).
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "types.cuh"

// ---------------------------------------------------------------------------------------------------------------
// synthetic weights: uniform in [-scale, scale) (+ offset) from a counter hash, generated on the device
// ---------------------------------------------------------------------------------------------------------------
__device__ __forceinline__ uint64_t splitMix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

extern "C" __global__ void fill_random_bf16(bf16* out, long long n, unsigned long long seed, float scale, float offset) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        uint64_t r = splitMix64(seed ^ splitMix64((uint64_t)i));
        float u = (float)(r >> 40) * (1.0f / 16777216.0f); // [0,1)
        out[i] = __float2bfloat16_rn(offset + scale * (2.f * u - 1.f));
    }
}
