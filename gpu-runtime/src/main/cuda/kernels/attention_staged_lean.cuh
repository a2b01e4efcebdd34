// The lean staged attention (issue 14, docs/cuda-notes.md v43b, v45): attention_staged.cuh's staged attention for
// D 128 and exactly 8 query heads per K/V head (Qwen3-30B-A3B: 32 / 4), fp32 / bf16 / fp8 K/V — the shape where
// the engine spends its attention time — with what ptxas has to carry cut down. Same partitions, same z walk, same
// stages in the same order, the same FMA chains (scores: d = 0..127 in order per (position, head); P·V: positions in
// order per (dimension, head), from acc · corr), the shared softmaxStep and the same partial record: the same bits
// as attention_staged_d128* and `attention` (bench/cuda/attention_bench.cu checks them bit for bit against the block
// kernel, and alone against batched). What it changes:
//   - G is a compile-time 8: no per-head predicates, no `g < G` guards around the stores and FMAs;
//   - the cp.async issue reads each position's 64-bit row offset from shared memory (rowS, computed once per
//     partition by its thread) instead of recomputing slot · nKV · D for each of the 8 pieces a thread issues a stage;
//   - the scores go to a head-major sc[head][position] (thread = position: conflict-free stores), which the softmax
//     reads twice conflict-free, writing the probabilities into pT[position][head] (the staged body keeps the scores
//     in pT[position][head]: 8-way bank conflicts on the stores and both softmax reads) — the block kernel's layout;
//   - the K piece loop is rolled (unrolled, ptxas hoists the 4 pieces' q and K loads and spills);
//   - a ring of 3 stages (2 in flight) in dynamic shared memory (SATT_LEAN_RING_BYTES, 24 KB; 37 KB a block with the
//     static arrays) and __launch_bounds__(128, 5): ptxas sm_90 96 / 95 / 96 registers (bf16 / fp32 / fp8; fp8 spills
//     8 bytes), 5 blocks = 20 warps per multiprocessor against the staged entries' 4 at the 128-register cap.
// On an H100 (attention_bench 1 1 issue14, 2026-12-07, as "v43b S3B5") it was the fastest of the variants tried for
// every dtype and case: bf16 batch 10 × 2–3k 48 → 41 µs a layer with the merge, 128 × 1,024 150 → 135, 32 × 4,096
// 176 → 158; fp8 128 × 1,024 143 → 128; fp32 about 4 % faster. Every other shape keeps the staged entries.
// Part of the one kernels PTX module (kernels.cu includes it last, so the entries before it keep their place).
#pragma once
#include "attention_staged.cuh"

#define SATT_LEAN_STAGES 3  // ring stages (SATT_LEAN_STAGES - 1 in flight)
#define SATT_LEAN_BLOCKS 5  // __launch_bounds__' blocks per multiprocessor (<= 102 registers)
// dynamic shared memory of a launch: the ring (ForwardPass.LEAN_RING_BYTES; the static arrays below add ~13 KB)
#define SATT_LEAN_RING_BYTES (SATT_LEAN_STAGES * SATT_STAGE_FLOATS * 4)

template <typename KVT>
__device__ __forceinline__ void stagedLeanBody(const float* q, const KVT* kCache, const KVT* vCache,
                                               const int* tokSeq, const int* positions, const int* blockTables,
                                               const int* meta, int blockSize, int nH, int nKV, float scale,
                                               float* part) {
    constexpr int DK = 128, DV = 128, MG = ATT_MAXG, STAGES = SATT_LEAN_STAGES;
    constexpr int EB = (int)sizeof(KVT);
    constexpr int PE = 16 / EB;                      // elements in a 16-byte piece
    constexpr int KD = sattKStageDims(DK, EB, 64);   // dimensions of a K stage
    constexpr int KPIECES = KD / PE;                 // 16-byte pieces per position in a K stage
    constexpr int KST = DK / KD;                     // K stages per partition
    constexpr int VP = 16 * 4 / EB;                  // positions of a V stage
    constexpr int DPC = DV / PE;                     // 16-byte pieces of a V stage's row
    // the ring: dynamic shared memory under the name gemm_staged.cuh and attention_tc.cuh give it (a new name would
    // add a module-scope declaration to the PTX in front of every entry)
    extern __shared__ __align__(16) unsigned char skSmem[];
    float(*ring)[SATT_STAGE_FLOATS] = reinterpret_cast<float(*)[SATT_STAGE_FLOATS]>(skSmem);
    __shared__ __align__(16) float qs[MG][DK];
    __shared__ __align__(16) float pT[ATT_CHUNK][ATT_MAXG]; // probabilities, position-major (P·V's float4 reads)
    __shared__ float sc[ATT_MAXG][ATT_CHUNK];             // scaled scores, head-major
    __shared__ long long rowS[ATT_CHUNK];                  // element offset of each position's row (this kv head)
    __shared__ float mS[ATT_MAXG], lS[ATT_MAXG], corrS[ATT_MAXG];
    int t = blockIdx.y, kvh = blockIdx.x, z = blockIdx.z;
    int tid = threadIdx.x;
    int warp = tid >> 5;
    if (nH != nKV * MG) __trap(); // compiled for exactly 8 query heads per K/V head
    const int* bt = blockTables + (size_t)tokSeq[t] * meta[0];
    int ctx = positions[t] + 1;
    if (z * ATT_CHUNK >= ctx) return;
    if (tid < ATT_MAXG) { mS[tid] = -INFINITY; lS[tid] = 0.f; }
    float acc[MG];
#pragma unroll
    for (int g = 0; g < MG; g++) acc[g] = 0.f;
    const int swz = (tid >> 1) & (KPIECES - 1);
    for (int c0 = z * ATT_CHUNK; c0 < ctx; c0 += ATT_SPLITS * ATT_CHUNK) {
        int n = min(ATT_CHUNK, ctx - c0);
        int total = KST + (n + VP - 1) / VP;
        __syncthreads();
        {
            int p = c0 + min(tid, n - 1);
            int slot = bt[p / blockSize] * blockSize + (p % blockSize);
            rowS[tid] = ((long long)slot * nKV + kvh) * DK;
        }
        __syncthreads();
        if (c0 == z * ATT_CHUNK) {
            const float* qg = q + (size_t)t * nH * DK + (size_t)kvh * MG * DK;
            for (int i = tid * 4; i < MG * DK; i += SATT_THREADS * 4) cpAsync16(&qs[0][0] + i, qg + i, true);
        }
        auto issue = [&](int s) {
            if (s < total) {
                KVT* buf = reinterpret_cast<KVT*>(ring[s % STAGES]);
                if (s < KST) {
#pragma unroll
                    for (int i = tid; i < ATT_CHUNK * KPIECES; i += SATT_THREADS) {
                        int j = i / KPIECES, c = i % KPIECES;
                        cpAsync16(buf + j * KD + ((c ^ ((j >> 1) & (KPIECES - 1))) * PE),
                                  kCache + rowS[j] + s * KD + c * PE, j < n);
                    }
                } else {
                    int v0 = (s - KST) * VP;
#pragma unroll
                    for (int i = tid; i < VP * DPC; i += SATT_THREADS) {
                        int j = i / DPC, c = i % DPC;
                        cpAsync16(buf + j * DV + c * PE, vCache + rowS[v0 + j] + c * PE, v0 + j < n);
                    }
                }
            }
            cpAsyncCommit();
        };
#pragma unroll
        for (int s = 0; s < STAGES - 1; s++) issue(s);
        float sv[MG];
#pragma unroll
        for (int g = 0; g < MG; g++) sv[g] = 0.f;
        for (int s = 0; s < total; s++) {
            cpAsyncWaitN<STAGES - 2>();
            __syncthreads();
            issue(s + STAGES - 1);
            const KVT* buf = reinterpret_cast<const KVT*>(ring[s % STAGES]);
            if (s < KST) {
#pragma unroll 1
                for (int pc = 0; pc < KPIECES; pc++) {
                    float kv[PE];
                    kvPiece(buf + tid * KD + ((pc ^ swz) * PE), kv);
                    sattScorePiece<MG, PE, DK>(qs, s * KD + pc * PE, kv, sv);
                }
                if (s == KST - 1) {
                    if (tid < n) {
#pragma unroll
                        for (int g = 0; g < MG; g++) sc[g][tid] = sv[g] * scale;
                    }
                    __syncthreads();
                    for (int g = warp; g < MG; g += SATT_THREADS / 32)
                        softmaxStep([&](int j) { return sc[g][j]; }, pT, n, g, mS, lS, corrS);
                    __syncthreads();
#pragma unroll
                    for (int g = 0; g < MG; g++) acc[g] *= corrS[g];
                }
            } else {
                int v0 = (s - KST) * VP;
                int cnt = min(VP, n - v0);
#pragma unroll 4
                for (int jj = 0; jj < cnt; jj++) {
                    float vv = kvLoad(buf + jj * DV + tid);
                    float4 p0 = *reinterpret_cast<const float4*>(&pT[v0 + jj][0]);
                    float4 p1 = *reinterpret_cast<const float4*>(&pT[v0 + jj][4]);
                    const float pj[8] = {p0.x, p0.y, p0.z, p0.w, p1.x, p1.y, p1.z, p1.w};
#pragma unroll
                    for (int g = 0; g < MG; g++) acc[g] = fmaf(pj[g], vv, acc[g]);
                }
            }
        }
    }
#pragma unroll
    for (int g = 0; g < MG; g++) part[(((size_t)t * nH + kvh * MG + g) * ATT_SPLITS + z) * (DK + 2) + tid] = acc[g];
    __syncthreads();
    if (tid < MG) {
        float* pp = part + (((size_t)t * nH + kvh * MG + tid) * ATT_SPLITS + z) * (DK + 2);
        pp[DK] = mS[tid];
        pp[DK + 1] = lS[tid];
    }
}

// grid (kv heads, tokens, ATT_SPLITS), SATT_THREADS threads, SATT_LEAN_RING_BYTES of dynamic shared memory
#define SATT_LEAN_KERNEL(NAME, KVT) extern "C" __global__ void __launch_bounds__(SATT_THREADS, SATT_LEAN_BLOCKS) \
    NAME(SATT_ARGS_T(KVT)) { stagedLeanBody<KVT>(SATT_PASS); }
SATT_LEAN_KERNEL(attention_staged_lean_d128g8, float)
SATT_LEAN_KERNEL(attention_staged_lean_d128g8_bf16, bf16)
SATT_LEAN_KERNEL(attention_staged_lean_d128g8_fp8, fp8)
