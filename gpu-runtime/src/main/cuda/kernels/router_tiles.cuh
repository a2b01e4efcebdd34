// The MoE block's RMSNorm and softmax top-k router for many rows (decode above 32 tokens, prefill): several tokens
// per block, so the router weights are read once per tile of tokens instead of once per token.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
//
// Why: router_topk runs one block per token, and each block streams all E x H router weights (512 KB for
// Qwen3-30B-A3B) through its multiprocessor's L2 port; at 128 tokens that is 64 MB of L2 reads per layer (15 µs on
// an H100, docs/benchmarks.md's batch-128 profile) for 34 M multiply-adds. Here a block takes RTT_TOKENS tokens and
// 1 / gridDim.y of the experts: each weight row it loads serves all its tokens.
//
// router_topk_norm_tiles: grid (ceil(T / RTT_TOKENS) tiles, parts), 256 threads. A block
//   - norms its tile's rows (routerNormRow, each row exactly as rmsnorm's cached path; part 0 also writes the split
//     rows the expert gate/up product reads) into shared memory;
//   - computes the logits of its ceil(E / parts) experts for every token of the tile: warp w takes experts
//     e0 + i * 8 (i < RTT_EPW) of a pass, lane the k positions lane * 8 + 256 j, each (token, expert) sum a chain of
//     fmaf in k order then warpSum — router_topk's chain (ROUTER_KLOOP) term for term, so the same logit bits;
//     writes them to logits[t][e];
//   - counts itself on arrivals[tile]; the tile's last block (reset by it for the next launch) reads the tile's
//     logits back and warp w runs token w's softmax and top-k: the softmax sums in the order blockSum adds them
//     (each lane group of 32 experts through the butterfly, the groups in order from 0), so the probabilities are
//     router_topk's bit for bit while E <= 256 (each thread of router_topk holds at most one logit), then
//     routerSelect, router_topk's own selection and record.
// router_topk_norm_tiles_group adds the MoE grouping by the step's last tile to finish (routerGroupStep, as
// router_topk_norm_parts_group): one launch fewer, for steps of few enough pairs that one block groups them
// quickly (the host decides). bench/cuda/small_bench.cu checks both against rmsnorm + router_topk +
// group_by_expert. Needs E <= ROUTER_PARTS_MAXE, H % 8 == 0, H <= RMS_CACHE * RTN_NORM_THREADS (the host checks).
#pragma once
#include "router_norm.cuh"

#define RTT_TOKENS 4 // tokens of a block
#define RTT_EPW 4    // experts of a warp in one pass (the logit accumulators: RTT_EPW x RTT_TOKENS a lane)
#define RTT_KB 2     // k steps of 256 whose weight loads a warp issues before their multiply-adds
#define RTT_ROWS_SHARED                                                                                         \
    __shared__ __align__(16) float rows[RTT_TOKENS][RMS_CACHE * RTN_NORM_THREADS];                              \
    __shared__ float probs[RTT_TOKENS][ROUTER_PARTS_MAXE];                                                      \
    __shared__ float scratch[32];                                                                               \
    __shared__ int last

// Token t's softmax over its E logits in pr (in place) by one warp, with blockSum's order of additions (above).
__device__ __forceinline__ void routerSoftmaxWarp(float* pr, int E, int lane) {
    float m = -INFINITY;
    for (int e = lane; e < E; e += 32) m = fmaxf(m, pr[e]);
    m = warpMax(m);
    float z = 0.f;
    for (int e0 = 0; e0 < E; e0 += 32) z += warpSum(e0 + lane < E ? expf(pr[e0 + lane] - m) : 0.f);
    __syncwarp();
    for (int e = lane; e < E; e += 32) pr[e] = expf(pr[e] - m) / z;
    __syncwarp();
}

// The body: returns (to every thread of the block) whether this block was its tile's last, i.e. ran the top-k.
__device__ __forceinline__ bool routerTopkNormTiles(const float* x, const bf16* normW, float eps, float* outSplit,
                                                    const bf16* Wr, int T, int E, int H, int K, int normTopk,
                                                    int moeSlot, int numMoe, int* topIds, float* topW,
                                                    int* routingOut, float* logits, int* arrivals,
                                                    float (*rows)[RMS_CACHE * RTN_NORM_THREADS],
                                                    float (*probs)[ROUTER_PARTS_MAXE], float* scratch, int& last) {
    constexpr int TT = RTT_TOKENS, EPW = RTT_EPW, KB = RTT_KB;
    int tile = blockIdx.x, p = blockIdx.y, parts = gridDim.y;
    int t0 = tile * TT, nt = min(TT, T - t0);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    // each call's first barrier comes before it reuses scratch, so one barrier after the rows is enough
    for (int i = 0; i < nt; i++) routerNormRow(t0 + i, x, normW, eps, H, p == 0 ? outSplit : nullptr, rows[i], scratch);
    __syncthreads();
    int per = (E + parts - 1) / parts, eb = p * per, ee = min(E, (p + 1) * per);
    for (int e0 = eb + warp; e0 < ee; e0 += EPW * nw) {
        float s[EPW][TT];
        const bf16* wr[EPW];
#pragma unroll
        for (int i = 0; i < EPW; i++) {
            wr[i] = Wr + (size_t)min(e0 + i * nw, E - 1) * H;
#pragma unroll
            for (int j = 0; j < TT; j++) s[i][j] = 0.f;
        }
        for (int k0 = lane * 8; k0 < H; k0 += 256 * KB) {
            uint4 wq[KB][EPW];
#pragma unroll
            for (int j = 0; j < KB; j++)
#pragma unroll
                for (int i = 0; i < EPW; i++)
                    wq[j][i] = k0 + j * 256 < H ? *reinterpret_cast<const uint4*>(wr[i] + k0 + j * 256)
                                                : make_uint4(0, 0, 0, 0);
#pragma unroll
            for (int j = 0; j < KB; j++) {
                int k = k0 + j * 256;
                if (k < H) {
#pragma unroll
                    for (int i = 0; i < EPW; i++) {
                        float wf[8];
                        bf16x8ToFloat(wq[j][i], wf);
#pragma unroll
                        for (int r = 0; r < TT; r++) {
                            float4 a = *reinterpret_cast<const float4*>(&rows[r][k]);
                            float4 b = *reinterpret_cast<const float4*>(&rows[r][k + 4]);
                            ROUTER_FMA8F(s[i][r], wf, a, b);
                        }
                    }
                }
            }
        }
#pragma unroll
        for (int i = 0; i < EPW; i++) {
#pragma unroll
            for (int r = 0; r < TT; r++) {
                float v = warpSum(s[i][r]);
                if (lane == 0 && e0 + i * nw < ee && r < nt) logits[(size_t)(t0 + r) * E + e0 + i * nw] = v;
            }
        }
    }
    // the tile's last block takes the logits (the threadFenceReduction pattern, as router_topk_norm_parts)
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) last = atomicAdd(&arrivals[tile], 1) == parts - 1;
    __syncthreads();
    if (!last) return false;
    __threadfence();
    for (int i = threadIdx.x; i < nt * E; i += blockDim.x)
        probs[i / E][i % E] = __ldcg(logits + (size_t)t0 * E + i);
    if (threadIdx.x == 0) arrivals[tile] = 0;
    __syncthreads();
    if (warp < nt) {
        routerSoftmaxWarp(probs[warp], E, lane);
        routerSelect<false>(t0 + warp, probs[warp], E, K, normTopk, moeSlot, numMoe, topIds, topW, routingOut,
                            nullptr, nullptr, nullptr, lane);
    }
    return true;
}

extern "C" __global__ void __launch_bounds__(RTN_NORM_THREADS) router_topk_norm_tiles(
        const float* x, const bf16* normW, float eps, float* outSplit, const bf16* Wr, int T, int E, int H, int K,
        int normTopk, int moeSlot, int numMoe, int* topIds, float* topW, int* routingOut, float* logits,
        int* arrivals) {
    RTT_ROWS_SHARED;
    routerTopkNormTiles(x, normW, eps, outSplit, Wr, T, E, H, K, normTopk, moeSlot, numMoe, topIds, topW, routingOut,
                        logits, arrivals, rows, probs, scratch, last);
}

// router_topk_norm_tiles, then the step's last tile to finish groups the T * K pairs (routerGroupStep).
extern "C" __global__ void __launch_bounds__(RTN_NORM_THREADS) router_topk_norm_tiles_group(
        const float* x, const bf16* normW, float eps, float* outSplit, const bf16* Wr, int T, int E, int H, int K,
        int normTopk, int moeSlot, int numMoe, int* topIds, float* topW, int* routingOut, float* logits,
        int* arrivals, int* stepArrival, int tile, int tile2, int* rankTmp, int* sortedTok, int* pairSlot,
        int* tiles, int* numTiles, int* tiles2, int* numTiles2, const int* realRows) {
    RTT_ROWS_SHARED;
    __shared__ int lastOfStep;
    if (!routerTopkNormTiles(x, normW, eps, outSplit, Wr, T, E, H, K, normTopk, moeSlot, numMoe, topIds, topW,
                             routingOut, logits, arrivals, rows, probs, scratch, last))
        return;
    routerGroupStep(topIds, T * K, K, E, stepArrival, tile, tile2, rankTmp, sortedTok, pairSlot, tiles, numTiles,
                    tiles2, numTiles2, realRows, lastOfStep);
}
