// Staged paged attention (K/V through a cp.async ring), bit-identical to attention.cuh.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "attention.cuh"
#include "cp_async.cuh"

// ---------------------------------------------------------------------------------------------------------------
// Staged attention (K/V fp32, bf16 or fp8; D in {16, 32, 64, 128}; G <= 8, or any G in groups of <= 8 through
// the *_grouped entries as attention.cuh says), the one that runs where it applies:
// the same partitions, arithmetic and order as `attention` above — bit-identical partials — with the K and V of a
// (token, kv head, z) job streamed through a ring of shared-memory stages by cp.async (coalesced 16-byte copies,
// SATT_STAGES - 1 stages in flight) instead of per-thread global loads. A stage holds 8 KB whatever the element type:
//   K stages: d-slices [128 positions][KD d] (64 bytes a position: 16 fp32, 32 bf16 or 64 fp8 dimensions), pieces
//             XOR-swizzled so the 16-byte reads of 8 rows hit 8 bank groups;
//   V stages: [VP positions][DV] (16 fp32, 32 bf16 or 64 fp8 positions).
// Four warps per job; thread = position for the scores (sequential FMA over d = 0..DK-1 per head, converted from the
// stored type as it is read), the block kernel's softmax code, thread = dimension for P·V (positions in order).
// Grid (kv heads, tokens, z). docs/cuda-notes.md v9–v12 has the one- and two-warp versions that came before.
//
// The template takes the stored row width DK (K and V rows are DK apart in the cache) apart from DV, the V dims that
// are read and summed, and MG, the most query heads per block it is compiled for. The GQA entries are DK = DV = D,
// MG = ATT_MAXG. MLA's decompressed heads (mla_rope_kv.cuh, MlaLayout) are padded to one width d, e.g. 192 for
// qk 128 + 64 / v 128, whose value dims from v_head_dim on are zeros: the attention_staged_d{d}v{dv} entries
// (one query head per K/V head, MG = 1) read DK = d dims of each key and only DV = v_head_dim dims of each value,
// never the zero tail, and write zeros as the tail of each partial — the exact +0 the block kernel sums there
// (Σ p · 0 from 0, p >= 0) — so attention_combine and o_proj over the padded heads are unchanged and every output
// bit equals `attention`'s. DK: a multiple of 16 up to ATT_MAXD; DV: a multiple of 16 up to SATT_THREADS, <= DK.
// ---------------------------------------------------------------------------------------------------------------
#define SATT_STAGES 4
#define SATT_STAGE_FLOATS 2048


#define SATT_THREADS 128
// dimensions of a K stage: `bytes` of each position (64: 16 fp32, 32 bf16, 64 fp8 dims) or, where that does not
// divide the row width DK, the largest power-of-two part of it that does (DK a multiple of 16: whole pieces)
__host__ __device__ constexpr int sattKStageDims(int dk, int elemBytes, int bytes) {
    int kd = bytes / elemBytes;
    while (dk % kd != 0) kd /= 2;
    return kd;
}
// The score chains over one 16-byte K piece (PE elements from dimension d0, converted): sv[g] += q[g][d] · k[d], d in
// order, for every head of qs (the rows past a block's G heads hold zeros). Shared by stagedAttentionBody below and
// stagedLeanBody (attention_staged_lean.cuh), so both run the same chains. (Sharing the copy issue and the P·V loop
// the same way changed the bf16 / fp8 staged entries' integer code: ptx-same; they stay written out in each.)
template <int MG, int PE, int DK>
__device__ __forceinline__ void sattScorePiece(const float (*qs)[DK], int d0, const float* kv, float* sv) {
#pragma unroll
    for (int e = 0; e < PE; e += 4) {
#pragma unroll
        for (int g = 0; g < MG; g++) {
            float4 qg = *reinterpret_cast<const float4*>(&qs[g][d0 + e]);
            sv[g] = fmaf(qg.x, kv[e], sv[g]);
            sv[g] = fmaf(qg.y, kv[e + 1], sv[g]);
            sv[g] = fmaf(qg.z, kv[e + 2], sv[g]);
            sv[g] = fmaf(qg.w, kv[e + 3], sv[g]);
        }
    }
}
// DK: the stored row width; DV: the value dims read and summed (DK for GQA); MG: the most query heads of a block
// (ATT_MAXG, or 1 for MLA's one query head per K/V head); STAGES: the ring's depth (SATT_STAGES here;
// attention_bench.cu times others); KVT: the cache's element type; KH: K stages per d-slice — 1: a stage is
// [128 positions][64 bytes]; 2: [64 positions][128 bytes] (the partition's two halves one after the other, each
// thread's dims still in order; only the half's threads add: for MG 1, where the FMAs are few and the longer
// contiguous pieces may copy faster — attention_bench.cu times it)
template <int DK, int DV, int MG, int STAGES, typename KVT = float, bool GROUPED = false, int KH = 1>
__device__ __forceinline__ void stagedAttentionBody(const float* q, const KVT* kCache, const KVT* vCache,
                                                     const int* tokSeq, const int* positions, const int* blockTables,
                                                     const int* meta, int blockSize, int nH, int nKV, float scale,
                                                     float* part) {
    constexpr int EB = (int)sizeof(KVT);
    constexpr int PE = 16 / EB;                             // elements in a 16-byte piece
    constexpr int KD = sattKStageDims(DK, EB, 64 * KH);     // dimensions of a K stage
    constexpr int KPIECES = KD / PE;                        // 16-byte pieces per position in a K stage
    constexpr int KSL = DK / KD;                            // d-slices of a row
    constexpr int KST = KSL * KH;                           // K stages per partition
    constexpr int KPOS = ATT_CHUNK / KH;                    // positions of a K stage
    constexpr int VP = 16 * 4 / EB;                         // positions of a V stage
    constexpr int DPC = DV / PE;                            // 16-byte pieces of a V stage's row
    static_assert(DK % 16 == 0 && DK <= ATT_MAXD && ATT_CHUNK == SATT_THREADS, "staged attention: DK multiple of 16");
    static_assert(DV % 16 == 0 && DV <= SATT_THREADS && DV <= DK, "staged attention: DV multiple of 16, <= 128, <= DK");
    static_assert((KPIECES & (KPIECES - 1)) == 0 && MG >= 1 && MG <= ATT_MAXG, "swizzle over 2^k pieces; MG");
    static_assert(KH == 1 || KH == 2, "K stages per d-slice");
    static_assert(KPOS * KD * EB <= SATT_STAGE_FLOATS * 4 && VP * DV * EB <= SATT_STAGE_FLOATS * 4, "stage size");
    __shared__ __align__(16) float ring[STAGES][SATT_STAGE_FLOATS];
    __shared__ __align__(16) float qs[MG][DK];
    __shared__ __align__(16) float pT[ATT_CHUNK][ATT_MAXG]; // scaled scores, then (in place) probabilities
    __shared__ int slotS[ATT_CHUNK];
    __shared__ float mS[ATT_MAXG], lS[ATT_MAXG], corrS[ATT_MAXG];
    // grid (kv heads, tokens, z): the kv heads of one token — neighbours in every cache row — are dispatched together
    int t = blockIdx.y, kvh = blockIdx.x, z = blockIdx.z;
    int tid = threadIdx.x;
    int warp = tid >> 5;
    int G = nH / nKV;
    int h0 = 0; // GROUPED: the group's first head (G heads from it); otherwise kvh * G, written as before
    if (GROUPED) {
        AttHeadGroup hg = attHeadGroup(blockIdx.x, nH / nKV);
        kvh = hg.kvh;
        G = hg.n;
        h0 = kvh * (nH / nKV) + hg.g0;
    }
    if constexpr (MG < ATT_MAXG) {
        if (G > MG) __trap(); // more heads than qs holds: a launch error, never a write past it
    }
    const int* bt = blockTables + (size_t)tokSeq[t] * meta[0];
    int ctx = positions[t] + 1;
    if (z * ATT_CHUNK >= ctx) return;
    for (int i = G * DK + tid; i < MG * DK; i += SATT_THREADS) (&qs[0][0])[i] = 0.f;
    if (tid < ATT_MAXG) { mS[tid] = -INFINITY; lS[tid] = 0.f; }
    float acc[MG];
#pragma unroll
    for (int g = 0; g < MG; g++) acc[g] = 0.f;
    // the K piece swizzle: 8 rows' 16-byte reads hit 8 bank groups (rows of 64 bytes: pairs of rows share 128 bytes)
    const int kRow = KH == 1 ? tid : tid % KPOS;            // the thread's position within its K stages
    const int swz = (kRow >> (KH == 1 ? 1 : 0)) & (KPIECES - 1);
    for (int c0 = z * ATT_CHUNK; c0 < ctx; c0 += ATT_SPLITS * ATT_CHUNK) {
        int n = min(ATT_CHUNK, ctx - c0);
        int total = KST + (n + VP - 1) / VP;
        __syncthreads();
        {
            int p = c0 + min(tid, n - 1);
            slotS[tid] = bt[p / blockSize] * blockSize + (p % blockSize);
        }
        __syncthreads();
        if (c0 == z * ATT_CHUNK) {
            const float* qg = q + (size_t)t * nH * DK + (GROUPED ? (size_t)h0 * DK : (size_t)kvh * G * DK);
            for (int i = tid * 4; i < G * DK; i += SATT_THREADS * 4) cpAsync16(&qs[0][0] + i, qg + i, true);
        }
        auto issue = [&](int s) {
            if (s < total) {
                KVT* buf = reinterpret_cast<KVT*>(ring[s % STAGES]);
                if (s < KST) {
                    const int p0 = KH == 1 ? 0 : s / KSL * KPOS, sl = KH == 1 ? s : s % KSL; // positions, d-slice
#pragma unroll
                    for (int i = tid; i < KPOS * KPIECES; i += SATT_THREADS) {
                        int j = i / KPIECES, c = i % KPIECES;
                        const KVT* src = kCache + ((size_t)slotS[p0 + j] * nKV + kvh) * DK + sl * KD + c * PE;
                        cpAsync16(buf + j * KD + ((c ^ ((j >> (KH == 1 ? 1 : 0)) & (KPIECES - 1))) * PE), src,
                                  p0 + j < n);
                    }
                } else {
                    int v0 = (s - KST) * VP;
#pragma unroll
                    for (int i = tid; i < VP * DPC; i += SATT_THREADS) {
                        int j = i / DPC, c = i % DPC;
                        const KVT* src = vCache + ((size_t)slotS[v0 + j] * nKV + kvh) * DK + c * PE;
                        cpAsync16(buf + j * DV + c * PE, src, v0 + j < n);
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
                const int sl = KH == 1 ? s : s % KSL;           // the K stage's d-slice
                if (KH == 1 || tid / KPOS == s / KSL) {         // the stage holds the thread's position
#pragma unroll
                    for (int pc = 0; pc < KPIECES; pc++) {
                        float kv[PE];
                        kvPiece(buf + kRow * KD + ((pc ^ swz) * PE), kv);
                        sattScorePiece<MG, PE, DK>(qs, sl * KD + pc * PE, kv, sv);
                    }
                }
                if (s == KST - 1) {
                    if (tid < n) {
#pragma unroll
                        for (int g = 0; g < MG; g++) if (g < G) pT[tid][g] = sv[g] * scale;
                    }
                    __syncthreads();
                    for (int g = warp; g < G; g += SATT_THREADS / 32)
                        softmaxStep([&](int j) { return pT[j][g]; }, pT, n, g, mS, lS, corrS);
                    __syncthreads();
#pragma unroll
                    for (int g = 0; g < MG; g++) if (g < G) acc[g] *= corrS[g];
                }
            } else if (tid < DV) {
                int v0 = (s - KST) * VP;
                int cnt = min(VP, n - v0);
#pragma unroll 4
                for (int jj = 0; jj < cnt; jj++) {
                    float vv = kvLoad(buf + jj * DV + tid);
                    float4 p0 = *reinterpret_cast<const float4*>(&pT[v0 + jj][0]);
                    float4 p1 = *reinterpret_cast<const float4*>(&pT[v0 + jj][4]);
                    const float pj[8] = {p0.x, p0.y, p0.z, p0.w, p1.x, p1.y, p1.z, p1.w};
#pragma unroll
                    for (int g = 0; g < MG; g++) if (g < G) acc[g] = fmaf(pj[g], vv, acc[g]);
                }
            }
        }
    }
    if (tid < DV) {
#pragma unroll
        for (int g = 0; g < MG; g++)
            if (g < G) part[(((size_t)t * nH + (GROUPED ? h0 : kvh * G) + g) * ATT_SPLITS + z) * (DK + 2) + tid] = acc[g];
    }
    if constexpr (DV < DK) { // the value rows' zero tail: the block kernel's sums there are exactly +0
        for (int d = DV + tid; d < DK; d += SATT_THREADS) {
#pragma unroll
            for (int g = 0; g < MG; g++)
                if (g < G) part[(((size_t)t * nH + (GROUPED ? h0 : kvh * G) + g) * ATT_SPLITS + z) * (DK + 2) + d] = 0.f;
        }
    }
    __syncthreads();
    if (tid < G) {
        float* pp = part + (((size_t)t * nH + (GROUPED ? h0 : kvh * G) + tid) * ATT_SPLITS + z) * (DK + 2);
        pp[DK] = mS[tid];
        pp[DK + 1] = lS[tid];
    }
}

#define SATT_ARGS_T(KVT) const float* q, const KVT* kCache, const KVT* vCache, const int* tokSeq, \
    const int* positions, const int* blockTables, const int* meta, int blockSize, int nH, int nKV, int D, float scale, \
    float* part
#define SATT_ARGS SATT_ARGS_T(float)
#define SATT_PASS q, kCache, vCache, tokSeq, positions, blockTables, meta, blockSize, nH, nKV, scale, part
#define SATT_KERNEL(NAME, DD, KVT) extern "C" __global__ void __launch_bounds__(SATT_THREADS, 4) \
    NAME(SATT_ARGS_T(KVT)) { stagedAttentionBody<DD, DD, ATT_MAXG, SATT_STAGES, KVT>(SATT_PASS); }
SATT_KERNEL(attention_staged_d16, 16, float)
SATT_KERNEL(attention_staged_d32, 32, float)
SATT_KERNEL(attention_staged_d64, 64, float)
SATT_KERNEL(attention_staged_d128, 128, float)
SATT_KERNEL(attention_staged_d16_bf16, 16, bf16)
SATT_KERNEL(attention_staged_d32_bf16, 32, bf16)
SATT_KERNEL(attention_staged_d64_bf16, 64, bf16)
SATT_KERNEL(attention_staged_d128_bf16, 128, bf16)
SATT_KERNEL(attention_staged_d16_fp8, 16, fp8)
SATT_KERNEL(attention_staged_d32_fp8, 32, fp8)
SATT_KERNEL(attention_staged_d64_fp8, 64, fp8)
SATT_KERNEL(attention_staged_d128_fp8, 128, fp8)
// G > ATT_MAXG (attention.cuh): grid (nKV × attHeadGroups(G), tokens, ATT_SPLITS)
#define SATT_KERNEL_GROUPED(NAME, DD, KVT) extern "C" __global__ void __launch_bounds__(SATT_THREADS, 4) \
    NAME(SATT_ARGS_T(KVT)) { stagedAttentionBody<DD, DD, ATT_MAXG, SATT_STAGES, KVT, true>(SATT_PASS); }
SATT_KERNEL_GROUPED(attention_staged_d16_grouped, 16, float)
SATT_KERNEL_GROUPED(attention_staged_d32_grouped, 32, float)
SATT_KERNEL_GROUPED(attention_staged_d64_grouped, 64, float)
SATT_KERNEL_GROUPED(attention_staged_d128_grouped, 128, float)
SATT_KERNEL_GROUPED(attention_staged_d16_bf16_grouped, 16, bf16)
SATT_KERNEL_GROUPED(attention_staged_d32_bf16_grouped, 32, bf16)
SATT_KERNEL_GROUPED(attention_staged_d64_bf16_grouped, 64, bf16)
SATT_KERNEL_GROUPED(attention_staged_d128_bf16_grouped, 128, bf16)
SATT_KERNEL_GROUPED(attention_staged_d16_fp8_grouped, 16, fp8)
SATT_KERNEL_GROUPED(attention_staged_d32_fp8_grouped, 32, fp8)
SATT_KERNEL_GROUPED(attention_staged_d64_fp8_grouped, 64, fp8)
SATT_KERNEL_GROUPED(attention_staged_d128_fp8_grouped, 128, fp8)
