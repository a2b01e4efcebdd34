// The MoE combine of layer l fused with layer l + 1's attention RMSNorm (few rows: decode at batch <= 32).
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "moe_combine.cuh"
#include "rmsnorm.cuh"

// ---------------------------------------------------------------------------------------------------------------
// moe_combine_rmsnorm: x[t] += sum_k w[t,k] * y[pairSlot[t*K+k]] exactly as moe_combine (float4 path: the same
// elements per thread, k in order), then RMSNorm of the new row into out / outSplit exactly as rmsnorm's cached
// path (thread tid squares elements tid, tid + 256, ... in order, blockSum, the same output expression) — the
// new row goes through shared memory so the norm reads the elements in rmsnorm's assignment, not the combine's.
// One launch and one read of the row fewer per layer: at batch 10 a step is ~530 launches of a few µs each, and
// the two kernels' blocks are one per token. Bit-identical to moe_combine then rmsnorm (bench/cuda/small_bench.cu).
// v20 measured this fusion slower at 256 tokens (the block waits on its own combine before the norm can start),
// so the host uses it for few rows only. Needs 256 threads, H % 4 == 0 and H <= RMS_CACHE * 256 (the host checks).
// ---------------------------------------------------------------------------------------------------------------
#define MCN_THREADS 256
#define MCN_MAXH (RMS_CACHE * MCN_THREADS)
extern "C" __global__ void __launch_bounds__(MCN_THREADS) moe_combine_rmsnorm(
        float* x, const float* ySorted, const int* pairSlot, const float* topW, int K, int H, const bf16* w,
        float* out, float* outSplit, float eps) {
    __shared__ float wS[MOE_MAXK];
    __shared__ const float* yS[MOE_MAXK];
    __shared__ __align__(16) float row[MCN_MAXH];
    __shared__ float scratch[32];
    int t = blockIdx.x, tid = threadIdx.x, nt = MCN_THREADS;
    // the norm's weights first: their loads overlap the combine
    float wv[RMS_CACHE];
#pragma unroll
    for (int j = 0; j < RMS_CACHE; j++) {
        int i = tid + j * nt;
        wv[j] = i < H ? __bfloat162float(w[i]) : 0.f;
    }
    moeLoadPairs<MCN_THREADS>(wS, yS, ySorted, pairSlot, topW, t, K, H);
    __syncthreads();
    float* xr = x + (size_t)t * H;
    for (int i = 4 * tid; i < H; i += 4 * nt) // moe_combine's float4 path, the new values also into the row
        *reinterpret_cast<float4*>(row + i) = moeCombine4(xr, wS, yS, K, i);
    __syncthreads();
    // rmsnorm's cached path over the row in shared memory
    float* o = out ? out + (size_t)t * H : nullptr;
    float* os = outSplit ? outSplit + (size_t)t * H : nullptr;
    float v[RMS_CACHE];
#pragma unroll
    for (int j = 0; j < RMS_CACHE; j++) {
        int i = tid + j * nt;
        v[j] = i < H ? row[i] : 0.f;
    }
    rmsNormCached(v, wv, tid, nt, H, eps, scratch, o, os);
}
