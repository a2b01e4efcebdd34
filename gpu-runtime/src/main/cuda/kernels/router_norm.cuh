// The MoE block's RMSNorm fused into the softmax top-k router (few rows: decode at batch <= 32).
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "router_topk.cuh"
#include "rmsnorm.cuh"

// ---------------------------------------------------------------------------------------------------------------
// router_topk_norm: rmsnorm(x[t], w) exactly as rmsnorm's cached path with 256 threads (warps 0-7 of the block:
// thread tid squares elements tid, tid + 256, ... in order, the warp butterfly, then warps 0..7 in order; the same
// output expression), written as the split row the expert gate/up product reads (outSplit) and kept in shared
// memory as the fp32 row the router reads, then router_topk's body (routerTopk) over that row: the same logits,
// softmax, top-k and record as rmsnorm then router_topk, bit for bit (bench/cuda/small_bench.cu). One launch per
// MoE layer fewer; the fp32 row is never written to global memory. Launched with 1,024 threads (router_topk's
// count up to as many tokens as multiprocessors), H <= RMS_CACHE * 256, H % 8 == 0 (the host checks).
// ---------------------------------------------------------------------------------------------------------------
#define RTN_NORM_THREADS 256
extern "C" __global__ void __launch_bounds__(1024) router_topk_norm(
        const float* x, const bf16* normW, float eps, float* outSplit, const bf16* Wr, int E, int H, int K,
        int normTopk, int moeSlot, int numMoe, int* topIds, float* topW, int* routingOut) {
    __shared__ float probs[ROUTER_MAXE];
    __shared__ float scratch[32];
    __shared__ __align__(16) float row[RMS_CACHE * RTN_NORM_THREADS];
    int t = blockIdx.x, tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, nt = RTN_NORM_THREADS;
    bool norms = tid < nt;
    const float* xr = x + (size_t)t * H;
    float v[RMS_CACHE], wv[RMS_CACHE];
#pragma unroll
    for (int j = 0; j < RMS_CACHE; j++) {
        int i = tid + j * nt;
        v[j] = norms && i < H ? xr[i] : 0.f;
        wv[j] = norms && i < H ? __bfloat162float(normW[i]) : 0.f;
    }
    float ss = 0.f;
#pragma unroll
    for (int j = 0; j < RMS_CACHE; j++)
        if (norms && tid + j * nt < H) ss += v[j] * v[j];
    // blockSum over the 8 norm warps (the others add nothing and write nothing)
    ss = warpSum(ss);
    __syncthreads();
    if (lane == 0 && warp < nt / 32) scratch[warp] = ss;
    __syncthreads();
    float sum = 0.f;
    for (int w = 0; w < nt / 32; w++) sum += scratch[w];
    float inv = 1.0f / sqrtf(sum / (float)H + eps);
    float* os = outSplit + (size_t)t * H;
#pragma unroll
    for (int j = 0; j < RMS_CACHE; j++) {
        int i = tid + j * nt;
        if (norms && i < H) {
            float val = wv[j] * (v[j] * inv);
            row[i] = val;
            storeSplit(os, i, val);
        }
    }
    __syncthreads();
    routerTopk<false, true>(row, Wr, E, H, K, normTopk, moeSlot, numMoe, topIds, topW, routingOut, nullptr, nullptr,
                            nullptr, probs, scratch);
}
