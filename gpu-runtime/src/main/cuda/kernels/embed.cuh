// Token embedding lookup.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "types.cuh"
#include "kv_elements.cuh"

// ---------------------------------------------------------------------------------------------------------------
// embedding: x[t] = emb[tokens[t]] (bf16 -> fp32, exact)
// ---------------------------------------------------------------------------------------------------------------
extern "C" __global__ void embed(const int* tokens, const bf16* emb, float* x, int H) {
    int t = blockIdx.x;
    const bf16* row = emb + (size_t)tokens[t] * H;
    float* xr = x + (size_t)t * H;
    if ((H & 3) == 0) {
        for (int i = 4 * threadIdx.x; i < H; i += 4 * blockDim.x) {
            float f[4];
            kvLoad4(row + i, f);
            *reinterpret_cast<float4*>(xr + i) = make_float4(f[0], f[1], f[2], f[3]);
        }
    } else {
        for (int i = threadIdx.x; i < H; i += blockDim.x) xr[i] = __bfloat162float(row[i]);
    }
}
