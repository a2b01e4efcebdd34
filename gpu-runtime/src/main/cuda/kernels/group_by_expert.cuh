// Grouping of (token, k) pairs by expert into work tiles for the expert GEMMs.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "types.cuh"

// ---------------------------------------------------------------------------------------------------------------
// Groups the T*K (token, k) pairs by expert: sortedTok[slot] = token, pairSlot[t*K+k] = slot, and a list of
// work tiles (expert, first slot, count <= tile) for the expert GEMMs; with tile2 > 0 a second list over the same
// slots with tiles of <= tile2 pairs (the expert products' 24-pair tiles at large batches). Single block. The order
// of pairs inside an expert is not deterministic, and need not be: each row of an expert GEMM is computed
// independently.
// Padding rows: a decode graph runs a bucket's number of rows (DecodeBuckets: powers of two up to 32, then multiples
// of 16), the rows past the step's sequences being padding (token 0 at position 0). Where realRows is given (the step's meta word the host writes), the pairs of rows
// from *realRows on are grouped under row 0's experts (pair p -> row 0's pair p % K) instead of the experts the
// router picked for them: padding then adds pairs to experts the step reads anyway, never an expert of its own (at
// small batches most of a padding row's experts are ones no real row picked, each a full expert's weights to read).
// The real rows' pairs, slots and results are what they were (each GEMM row is computed on its own); a padding
// row's output is never read. A count outside 1 .. T - 1 (a meta word no step wrote) groups every pair under its own
// experts, as without padding: never every row under row 0's.
// ---------------------------------------------------------------------------------------------------------------
#define GROUP_MAXE 1024
// expert e's pairs (slots first .. first + count - 1) cut into tiles (expert, first slot, count <= tile) at tl
__device__ __forceinline__ void expertTiles(int* tl, int e, int first, int count, int tile) {
    for (int i = 0; i * tile < count; i++, tl += 3) {
        tl[0] = e;
        tl[1] = first + i * tile;
        tl[2] = min(tile, count - i * tile);
    }
}
#define GROUP_REG 4 // pairs per thread whose expert and rank stay in registers; rankTmp holds the rest
// The grouping over the block's threads (blockDim.x of them, a multiple of 32: group_by_expert's 1,024,
// router_topk_norm_parts_group's 256), every thread calling it. MAXE: the per-expert shared arrays' length (E <=
// MAXE: GROUP_MAXE for group_by_expert; router_norm.cuh's fused path knows E <= 256 and keeps its shared memory
// small). CG: topIds written by other blocks of the same launch (router_topk_norm_parts_group) are read with
// __ldcg (L2, after the caller's __threadfence), never from a stale L1 line.
template <int MAXE, bool CG>
__device__ __forceinline__ void groupByExpert(const int* topIds, int numPairs, int K, int E, int tile, int tile2,
                                              int* rankTmp, int* sortedTok, int* pairSlot, int* tiles,
                                              int* numTiles, int* tiles2, int* numTiles2, const int* realRows) {
    __shared__ int cnt[MAXE];
    __shared__ int off[MAXE];
    __shared__ int toff[MAXE];
    __shared__ int toff2[MAXE];
    __shared__ int warpC[32], warpT[32], warpT2[32];
    int tid = threadIdx.x, nt = blockDim.x, lane = tid & 31, warp = tid >> 5, nw = nt >> 5;
    int real = realRows ? *realRows : 0;
    int realPairs = real >= 1 && real * K < numPairs ? real * K : numPairs;
    // the expert pair p is grouped under: its own, or for a padding row's pair row 0's k-th (above)
    auto expertOf = [&](int p) {
        int q = p < realPairs ? p : p % K;
        return CG ? __ldcg(topIds + q) : topIds[q];
    };
    for (int e = tid; e < E; e += nt) cnt[e] = 0;
    __syncthreads();
    int myE[GROUP_REG], myR[GROUP_REG];
#pragma unroll
    for (int j = 0; j < GROUP_REG; j++) {
        int p = tid + j * nt;
        if (p < numPairs) {
            myE[j] = expertOf(p);
            myR[j] = atomicAdd(&cnt[myE[j]], 1);
        }
    }
    for (int p = tid + GROUP_REG * nt; p < numPairs; p += nt)
        rankTmp[p] = atomicAdd(&cnt[expertOf(p)], 1);
    __syncthreads();
    // exclusive scans of the pair and tile counts over experts, nt experts per round (integer sums: exact)
    int baseC = 0, baseT = 0, baseT2 = 0;
    for (int e0 = 0; e0 < E; e0 += nt) {
        int e = e0 + tid;
        int c = e < E ? cnt[e] : 0;
        int ntl = (c + tile - 1) / tile;
        int ntl2 = tile2 > 0 ? (c + tile2 - 1) / tile2 : 0;
        int ic = c, it = ntl, it2 = ntl2;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            int uc = __shfl_up_sync(0xffffffffu, ic, o), ut = __shfl_up_sync(0xffffffffu, it, o);
            int ut2 = __shfl_up_sync(0xffffffffu, it2, o);
            if (lane >= o) { ic += uc; it += ut; it2 += ut2; }
        }
        if (lane == 31) { warpC[warp] = ic; warpT[warp] = it; warpT2[warp] = it2; }
        __syncthreads();
        int pc = baseC, pt = baseT, pt2 = baseT2;
        for (int w = 0; w < warp; w++) { pc += warpC[w]; pt += warpT[w]; pt2 += warpT2[w]; }
        if (e < E) {
            off[e] = pc + ic - c;
            toff[e] = pt + it - ntl;
            toff2[e] = pt2 + it2 - ntl2;
        }
        for (int w = 0; w < nw; w++) { baseC += warpC[w]; baseT += warpT[w]; baseT2 += warpT2[w]; }
        __syncthreads();
    }
    if (tid == 0) {
        *numTiles = baseT;
        if (tile2 > 0) *numTiles2 = baseT2;
    }
    for (int e = tid; e < E; e += nt) {
        expertTiles(tiles + 3 * toff[e], e, off[e], cnt[e], tile);
        if (tile2 > 0) expertTiles(tiles2 + 3 * toff2[e], e, off[e], cnt[e], tile2);
    }
#pragma unroll
    for (int j = 0; j < GROUP_REG; j++) {
        int p = tid + j * nt;
        if (p < numPairs) {
            int slot = off[myE[j]] + myR[j];
            sortedTok[slot] = p / K;
            pairSlot[p] = slot;
        }
    }
    for (int p = tid + GROUP_REG * nt; p < numPairs; p += nt) {
        int slot = off[expertOf(p)] + rankTmp[p];
        sortedTok[slot] = p / K;
        pairSlot[p] = slot;
    }
}

extern "C" __global__ void group_by_expert(const int* topIds, int numPairs, int K, int E, int tile, int tile2,
                                           int* rankTmp, int* sortedTok, int* pairSlot, int* tiles, int* numTiles,
                                           int* tiles2, int* numTiles2, const int* realRows) {
    groupByExpert<GROUP_MAXE, false>(topIds, numPairs, K, E, tile, tile2, rankTmp, sortedTok, pairSlot, tiles,
                                     numTiles, tiles2, numTiles2, realRows);
}
