// The element types every kernel uses: bf16 weights, fp8 (e4m3fn) K/V cache bits.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>

typedef __nv_bfloat16 bf16;
typedef __nv_fp8_storage_t fp8; // e4m3fn bits (KvCacheDtype.FP8): round to nearest even, saturating at +-448
