// The MoE block's RMSNorm fused into the softmax top-k router (few rows: decode at batch <= 32).
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "router_topk.cuh"
#include "rmsnorm.cuh"
#include "group_by_expert.cuh"

// ---------------------------------------------------------------------------------------------------------------
// RMSNorm of row x[t] (router_tiles.cuh: t of its block's tokens; else blockIdx.x) exactly as rmsnorm's cached path with 256 threads — threads 0..255 of the block (warps 0-7):
// thread tid squares elements tid, tid + 256, ... in order, the warp butterfly, then warps 0..7 in order, the same
// output expression — into row (shared memory, fp32: what the router reads) and, where outSplit is given, the split
// row the expert gate/up product reads. Every thread of the block calls it (two barriers); threads from 256 on add
// and write nothing. H <= RMS_CACHE * 256.
// ---------------------------------------------------------------------------------------------------------------
#define RTN_NORM_THREADS 256
__device__ __forceinline__ void routerNormRow(int t, const float* x, const bf16* normW, float eps, int H,
                                              float* outSplit, float* row, float* scratch) {
    int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, nt = RTN_NORM_THREADS;
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
    float* os = outSplit ? outSplit + (size_t)t * H : nullptr;
#pragma unroll
    for (int j = 0; j < RMS_CACHE; j++) {
        int i = tid + j * nt;
        if (norms && i < H) {
            float val = wv[j] * (v[j] * inv);
            row[i] = val;
            if (os) storeSplit(os, i, val);
        }
    }
}

// router_topk_norm: routerNormRow, then router_topk's body (routerTopk) over the row: the same logits, softmax,
// top-k and record as rmsnorm then router_topk, bit for bit (bench/cuda/small_bench.cu). One launch per MoE layer
// fewer; the fp32 row is never written to global memory. Launched with 1,024 threads (router_topk's count up to as
// many tokens as multiprocessors); H % 8 == 0 (the host checks).
extern "C" __global__ void __launch_bounds__(1024) router_topk_norm(
        const float* x, const bf16* normW, float eps, float* outSplit, const bf16* Wr, int E, int H, int K,
        int normTopk, int moeSlot, int numMoe, int* topIds, float* topW, int* routingOut) {
    __shared__ float probs[ROUTER_MAXE];
    __shared__ float scratch[32];
    __shared__ __align__(16) float row[RMS_CACHE * RTN_NORM_THREADS];
    routerNormRow(blockIdx.x, x, normW, eps, H, outSplit, row, scratch);
    __syncthreads();
    routerTopk<false, true>(row, Wr, E, H, K, normTopk, moeSlot, numMoe, topIds, topW, routingOut, nullptr, nullptr,
                            nullptr, probs, scratch);
}

// ROUTER_KLOOP with every weight load of a warp's pass issued before its FMAs (KB k steps of 256 at a time: a
// 2,048-wide row is one batch of 8 x EPW 16-byte loads per lane in flight, where the plain loop keeps EPW); the
// same FMAs in the same order, so the same logits. For router_topk_norm_parts (256 threads: registers to spare).
#define ROUTER_KLOOP_PREFETCH(XR, KB)                                                                           \
    for (int k0 = lane * 8; k0 < H; k0 += 256 * (KB)) {                                                         \
        uint4 wq[KB][EPW];                                                                                      \
        _Pragma("unroll") for (int j = 0; j < (KB); j++)                                                        \
            _Pragma("unroll") for (int i = 0; i < EPW; i++)                                                     \
                wq[j][i] = k0 + j * 256 < H ? *reinterpret_cast<const uint4*>(wr[i] + k0 + j * 256)             \
                                            : make_uint4(0, 0, 0, 0);                                           \
        _Pragma("unroll") for (int j = 0; j < (KB); j++) {                                                      \
            int k = k0 + j * 256;                                                                               \
            if (k < H) {                                                                                        \
                float4 a = *reinterpret_cast<const float4*>((XR) + k);                                          \
                float4 b = *reinterpret_cast<const float4*>((XR) + k + 4);                                      \
                _Pragma("unroll") for (int i = 0; i < EPW; i++) ROUTER_FMA8(s[i], wq[j][i], a, b);             \
            }                                                                                                   \
        }                                                                                                       \
    }

// router_topk_norm_parts: the same over gridDim.y blocks per token (grid (tokens, parts), 256 threads): each block
// norms the row (part 0 writes the split row) and computes the logits of its ceil(E / parts) experts into
// logits[t][e] (ROUTER_PASSES: a logit's bits do not depend on the block); the token's last block to arrive
// (arrivals[t], reset by it for the next launch) reads the E logits back and runs the softmax, top-k and record
// (routerTopk PRESET). At batch 10-32 the one-block router streams the 512 KB of router weights per token through
// one multiprocessor's L2 port (~5 µs); parts spread them. The block sums over E logits are the 1,024-thread
// router's while E <= 256 (each thread holds at most one logit; the missing warps only added zeros): the host
// checks. Bit-identical to rmsnorm then router_topk (bench/cuda/small_bench.cu).
// The body: returns (to every thread of the block) whether this block was its token's last, i.e. ran the top-k.
// The shared arrays are the entry's (RTN_PARTS_SHARED), so router_topk_norm_parts' PTX stays what it was.
#define RTN_PARTS_SHARED                                                                                        \
    __shared__ float probs[ROUTER_MAXE];                                                                        \
    __shared__ float scratch[32];                                                                               \
    __shared__ __align__(16) float row[RMS_CACHE * RTN_NORM_THREADS];                                           \
    __shared__ int last
__device__ __forceinline__ bool routerTopkNormParts(const float* x, const bf16* normW, float eps, float* outSplit,
                                                    const bf16* Wr, int E, int H, int K, int normTopk, int moeSlot,
                                                    int numMoe, int* topIds, float* topW, int* routingOut,
                                                    float* logits, int* arrivals, float* probs, float* scratch,
                                                    float* row, int& last) {
    int t = blockIdx.x, p = blockIdx.y, parts = gridDim.y;
    routerNormRow(t, x, normW, eps, H, p == 0 ? outSplit : nullptr, row, scratch);
    __syncthreads();
    int per = (E + parts - 1) / parts;
    float* lt = logits + (size_t)t * E;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    ROUTER_PASSES(p * per, min(E, (p + 1) * per), lt, ROUTER_KLOOP_PREFETCH(row, 8));
    // the last block of the token takes the logits (the threadFenceReduction pattern)
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) last = atomicAdd(&arrivals[t], 1) == parts - 1;
    __syncthreads();
    if (!last) return false;
    __threadfence();
    for (int e = threadIdx.x; e < E; e += blockDim.x) probs[e] = __ldcg(lt + e);
    if (threadIdx.x == 0) arrivals[t] = 0;
    __syncthreads();
    routerTopk<false, false, true>(nullptr, Wr, E, H, K, normTopk, moeSlot, numMoe, topIds, topW, routingOut,
                                   nullptr, nullptr, nullptr, probs, scratch);
    return true;
}

extern "C" __global__ void __launch_bounds__(RTN_NORM_THREADS) router_topk_norm_parts(
        const float* x, const bf16* normW, float eps, float* outSplit, const bf16* Wr, int E, int H, int K,
        int normTopk, int moeSlot, int numMoe, int* topIds, float* topW, int* routingOut, float* logits,
        int* arrivals) {
    RTN_PARTS_SHARED;
    routerTopkNormParts(x, normW, eps, outSplit, Wr, E, H, K, normTopk, moeSlot, numMoe, topIds, topW, routingOut,
                        logits, arrivals, probs, scratch, row, last);
}

// the largest E of the router_topk_norm_parts_group / router_tiles.cuh grouping (its per-expert shared arrays)
#define ROUTER_PARTS_MAXE 256
// The grouping by the step's last block to finish, called by every thread of a block that has just written its
// tokens' ids (router_topk_norm_parts_group: a token's last block; router_tiles.cuh: a tile's): it fences and
// counts itself on stepArrival (one counter per launch, reset by the block that sees gridDim.x - 1, so 0 again for
// the next launch: graph-safe); that block reads every token's ids back through L2 (__ldcg) and groups the
// numPairs pairs with groupByExpert over its threads. lastOfStep: a shared int of the entry (a __shared__ here would
// be a module-scope declaration in front of every entry's PTX).
__device__ __forceinline__ void routerGroupStep(const int* topIds, int numPairs, int K, int E, int* stepArrival,
                                                int tile, int tile2, int* rankTmp, int* sortedTok, int* pairSlot,
                                                int* tiles, int* numTiles, int* tiles2, int* numTiles2,
                                                const int* realRows, int& lastOfStep) {
    // the ids this block wrote: visible device-wide before the block counts as done
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) lastOfStep = atomicAdd(stepArrival, 1) == (int)gridDim.x - 1;
    __syncthreads();
    if (!lastOfStep) return;
    __threadfence();
    if (threadIdx.x == 0) *stepArrival = 0;
    groupByExpert<ROUTER_PARTS_MAXE, true>(topIds, numPairs, K, E, tile, tile2, rankTmp, sortedTok, pairSlot, tiles,
                                           numTiles, tiles2, numTiles2, realRows);
}

// router_topk_norm_parts_group (issue 14: one launch fewer per MoE layer at <= 32 tokens): router_topk_norm_parts,
// then the step's last token to finish groups the T * K (token, k) pairs by expert — what group_by_expert writes
// (sortedTok, pairSlot, tiles / numTiles, tiles2 / numTiles2 with tile2 > 0), from groupByExpert with this
// block's 256 threads. Each token's last block, after its top-k wrote topIds / topW, fences and counts itself on
// stepArrival (one counter per launch, reset by the block that sees T - 1, so 0 again for the next launch:
// graph-safe); that block reads every token's ids back through L2 (__ldcg). The tile lists are group_by_expert's
// (the same counts per expert, the same scans); the order of the pairs inside an expert may differ, which changes
// no bits (the expert GEMMs compute each tile row on its own: an mma output column depends on its own activation
// row only, the K-split reduction is per element, and moe_combine reads each pair through pairSlot in k order).
// bench/cuda/small_bench.cu checks it against rmsnorm + router_topk + group_by_expert. E <= ROUTER_PARTS_MAXE (the
// host checks): the grouping's per-expert shared arrays are sized for it (probs, row and the grouping together
// ~17 KB of static shared memory).
extern "C" __global__ void __launch_bounds__(RTN_NORM_THREADS) router_topk_norm_parts_group(
        const float* x, const bf16* normW, float eps, float* outSplit, const bf16* Wr, int E, int H, int K,
        int normTopk, int moeSlot, int numMoe, int* topIds, float* topW, int* routingOut, float* logits,
        int* arrivals, int* stepArrival, int tile, int tile2, int* rankTmp, int* sortedTok, int* pairSlot,
        int* tiles, int* numTiles, int* tiles2, int* numTiles2, const int* realRows) {
    RTN_PARTS_SHARED;
    __shared__ int lastOfStep;
    if (!routerTopkNormParts(x, normW, eps, outSplit, Wr, E, H, K, normTopk, moeSlot, numMoe, topIds, topW,
                             routingOut, logits, arrivals, probs, scratch, row, last))
        return;
    routerGroupStep(topIds, gridDim.x * K, K, E, stepArrival, tile, tile2, rankTmp, sortedTok, pairSlot, tiles,
                    numTiles, tiles2, numTiles2, realRows, lastOfStep);
}
