// Staged attention with attention_combine's merge fused into the last block of each (token, kv group).
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "attention_staged.cuh"

// ---------------------------------------------------------------------------------------------------------------
// Staged attention with the merge fused in (`attention_staged_d*_fused`; issue 14, docs/cuda-notes.md v43): the
// staged entry's body unchanged — the same partial record per (token, head, z) — then every block, the ones whose z
// has no partition of the context included (they wrote nothing but must still be counted), fences its writes and
// adds one to arrivals[token][x] (x = blockIdx.x: the kv head or (kv head, head group)); the last of the gridDim.z
// blocks of that (token, x) to arrive resets the counter for the next launch (zero between launches: graph replays
// need no memset) and runs attention_combine's per-head merge (attentionCombineHead, the same code; partials read
// through L2) for the group's query heads, one warp per head, into out. attention_combine's merge of a head reads
// only that head's partials and needs all of them written, which the counter guarantees; so out is the same bits
// as staged + attention_combine by construction, one launch fewer a layer. arrivals: gridDim.x × tokens ints.
// ---------------------------------------------------------------------------------------------------------------
template <int DK, int STAGES, typename KVT, bool GROUPED>
__device__ __forceinline__ void stagedAttentionFusedBody(const float* q, const KVT* kCache, const KVT* vCache,
                                                          const int* tokSeq, const int* positions,
                                                          const int* blockTables, const int* meta, int blockSize,
                                                          int nH, int nKV, float scale, float* part, float* out,
                                                          int* arrivals) {
    stagedAttentionBody<DK, DK, ATT_MAXG, STAGES, KVT, GROUPED, 1, true>(q, kCache, vCache, tokSeq, positions,
                                                                          blockTables, meta, blockSize, nH, nKV,
                                                                          scale, part);
    __shared__ int lastS;
    int t = blockIdx.y;
    int* counter = arrivals + (size_t)t * gridDim.x + blockIdx.x;
    __threadfence(); // each thread's partial writes visible device-wide before the block is counted
    __syncthreads();
    if (threadIdx.x == 0) lastS = atomicAdd(counter, 1) == (int)gridDim.z - 1;
    __syncthreads();
    if (!lastS) return;
    __threadfence(); // the other blocks' partials, fenced before their arrivals, are read after ours
    if (threadIdx.x == 0) *counter = 0;
    int G = nH / nKV, h0 = blockIdx.x * G;
    if (GROUPED) {
        AttHeadGroup hg = attHeadGroup(blockIdx.x, nH / nKV);
        G = hg.n;
        h0 = hg.kvh * (nH / nKV) + hg.g0;
    }
    int nz = attPartials(positions[t] + 1);
    for (int g = threadIdx.x >> 5; g < G; g += SATT_THREADS / 32)
        attentionCombineHead<true>(part, t, h0 + g, nz, nH, DK, threadIdx.x & 31, out);
}
#define SATT_FUSED_ARGS_T(KVT) SATT_ARGS_T(KVT), float* out, int* arrivals
#define SATT_KERNEL_FUSED(NAME, DD, KVT, GRP) extern "C" __global__ void __launch_bounds__(SATT_THREADS, 4) \
    NAME(SATT_FUSED_ARGS_T(KVT)) { stagedAttentionFusedBody<DD, SATT_STAGES, KVT, GRP>(SATT_PASS, out, arrivals); }
SATT_KERNEL_FUSED(attention_staged_d16_fused, 16, float, false)
SATT_KERNEL_FUSED(attention_staged_d32_fused, 32, float, false)
SATT_KERNEL_FUSED(attention_staged_d64_fused, 64, float, false)
SATT_KERNEL_FUSED(attention_staged_d128_fused, 128, float, false)
SATT_KERNEL_FUSED(attention_staged_d16_bf16_fused, 16, bf16, false)
SATT_KERNEL_FUSED(attention_staged_d32_bf16_fused, 32, bf16, false)
SATT_KERNEL_FUSED(attention_staged_d64_bf16_fused, 64, bf16, false)
SATT_KERNEL_FUSED(attention_staged_d128_bf16_fused, 128, bf16, false)
SATT_KERNEL_FUSED(attention_staged_d16_fp8_fused, 16, fp8, false)
SATT_KERNEL_FUSED(attention_staged_d32_fp8_fused, 32, fp8, false)
SATT_KERNEL_FUSED(attention_staged_d64_fp8_fused, 64, fp8, false)
SATT_KERNEL_FUSED(attention_staged_d128_fp8_fused, 128, fp8, false)
SATT_KERNEL_FUSED(attention_staged_d16_grouped_fused, 16, float, true)
SATT_KERNEL_FUSED(attention_staged_d32_grouped_fused, 32, float, true)
SATT_KERNEL_FUSED(attention_staged_d64_grouped_fused, 64, float, true)
SATT_KERNEL_FUSED(attention_staged_d128_grouped_fused, 128, float, true)
SATT_KERNEL_FUSED(attention_staged_d16_bf16_grouped_fused, 16, bf16, true)
SATT_KERNEL_FUSED(attention_staged_d32_bf16_grouped_fused, 32, bf16, true)
SATT_KERNEL_FUSED(attention_staged_d64_bf16_grouped_fused, 64, bf16, true)
SATT_KERNEL_FUSED(attention_staged_d128_bf16_grouped_fused, 128, bf16, true)
SATT_KERNEL_FUSED(attention_staged_d16_fp8_grouped_fused, 16, fp8, true)
SATT_KERNEL_FUSED(attention_staged_d32_fp8_grouped_fused, 32, fp8, true)
SATT_KERNEL_FUSED(attention_staged_d64_fp8_grouped_fused, 64, fp8, true)
SATT_KERNEL_FUSED(attention_staged_d128_fp8_grouped_fused, 128, fp8, true)
