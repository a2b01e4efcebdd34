// K/V cache element conversion: fp32, bf16 and fp8 e4m3 loads and stores (rounded once, on write).
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "types.cuh"
#include "bf16_split.cuh"

// K/V cache elements: fp32 (exact, the default), bf16 or fp8 e4m3 (half / a quarter of the bytes). A value is
// rounded once, when it is written; every reader converts the stored value back to fp32 exactly.
__device__ __forceinline__ void kvLoad4(const float* p, float* o) {
    float4 v = *reinterpret_cast<const float4*>(p);
    o[0] = v.x; o[1] = v.y; o[2] = v.z; o[3] = v.w;
}
__device__ __forceinline__ void kvLoad4(const bf16* p, float* o) {
    uint2 u = *reinterpret_cast<const uint2*>(p);
    o[0] = __uint_as_float(u.x << 16); o[1] = __uint_as_float(u.x & 0xffff0000u);
    o[2] = __uint_as_float(u.y << 16); o[3] = __uint_as_float(u.y & 0xffff0000u);
}
__device__ __forceinline__ float fp8ToFloat(fp8 b) {
    return __half2float(__half(__nv_cvt_fp8_to_halfraw(b, __NV_E4M3))); // every e4m3 value is exact in fp16
}
__device__ __forceinline__ void kvLoad4(const fp8* p, float* o) {
    uint32_t u = *reinterpret_cast<const uint32_t*>(p);
#pragma unroll
    for (int i = 0; i < 4; i++) o[i] = fp8ToFloat((fp8)(u >> (8 * i)));
}
__device__ __forceinline__ float kvLoad(const float* p) { return *p; }
__device__ __forceinline__ float kvLoad(const bf16* p) { return __bfloat162float(*p); }
__device__ __forceinline__ float kvLoad(const fp8* p) { return fp8ToFloat(*p); }
__device__ __forceinline__ void kvStore(float* p, float v) { *p = v; }
__device__ __forceinline__ void kvStore(bf16* p, float v) { *p = __float2bfloat16_rn(v); }
__device__ __forceinline__ void kvStore(fp8* p, float v) { *p = __nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3); }
// 16 bytes of a staged K/V piece (16 / sizeof(T) elements) as fp32
__device__ __forceinline__ void kvPiece(const float* p, float* o) { kvLoad4(p, o); }
__device__ __forceinline__ void kvPiece(const bf16* p, float* o) { bf16x8ToFloat(*reinterpret_cast<const uint4*>(p), o); }
__device__ __forceinline__ void kvPiece(const fp8* p, float* o) {
#pragma unroll
    for (int i = 0; i < 16; i += 4) kvLoad4(p + i, o + i);
}


__device__ __forceinline__ void kvStore4(float* p, const float* v) { // v: 16-byte aligned
    *reinterpret_cast<float4*>(p) = *reinterpret_cast<const float4*>(v);
}
__device__ __forceinline__ void kvStore4(bf16* p, const float* v) {
    *reinterpret_cast<uint2*>(p) = make_uint2(packBf16(v[0], v[1]), packBf16(v[2], v[3]));
}
__device__ __forceinline__ void kvStore4(fp8* p, const float* v) {
    uint32_t u = 0;
#pragma unroll
    for (int i = 0; i < 4; i++) u |= (uint32_t)__nv_cvt_float_to_fp8(v[i], __NV_SATFINITE, __NV_E4M3) << (8 * i);
    *reinterpret_cast<uint32_t*>(p) = u;
}
