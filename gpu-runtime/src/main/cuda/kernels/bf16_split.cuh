// bf16 <-> fp32 conversion and the GEMMs' split-row activation layout (storeSplit).
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "types.cuh"

__device__ __forceinline__ void bf16x8ToFloat(uint4 u, float* f) {
    const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        f[2 * i] = __uint_as_float(w[i] << 16);
        f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    }
}

__device__ __forceinline__ uint32_t packBf16(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
}

// The GEMMs' activation layout ("split rows"): each fp32 activation x as bf16 hi = bf16(x) and lo = bf16(x - hi)
// (the tensor-core products multiply both: ~16 mantissa bits of x), written once by the producer — RMSNorm, the
// attention merge, the SwiGLU epilogue — instead of re-split by every GEMM block that loads it. Element k of a row
// lives in the row's 8-element group k / 8: hi at bf16 index 16 (k / 8) + k % 8, lo 8 further. A split row takes
// the bytes its fp32 values would, and a lane's 32 bytes at float offset k .. k + 8 are exactly the mma's hi and lo
// fragments for physical k .. k + 7 (laneHiLo).
__device__ __forceinline__ void storeSplit(float* row, int k, float v) {
    bf16* b = reinterpret_cast<bf16*>(row) + 16 * (k >> 3) + (k & 7);
    bf16 h = __float2bfloat16_rn(v);
    b[0] = h;
    b[8] = __float2bfloat16_rn(v - __bfloat162float(h));
}
