// Paged causal attention (block kernel), its partition merge, and the shared online-softmax step.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "block_reduce.cuh"
#include "bf16_split.cuh"
#include "kv_elements.cuh"

// ---------------------------------------------------------------------------------------------------------------
// Attention over the paged cache, causal: token t (of sequence tokSeq[t], at position positions[t]) attends to
// positions 0..positions[t] of its sequence, found through its block table. The context is cut into partitions of
// ATT_CHUNK positions; block (t, kv head, z) handles partitions z, z + ATT_SPLITS, ... for all G = nH/nKV query
// heads of the group (online softmax across them) and writes an unnormalised partial (acc, max, sum);
// attention_combine merges the partials in z order. Partitions, their assignment and both merge orders depend
// only on the position: the result does not depend on the batch or on how a prompt is chunked, and a single
// decoding sequence still spreads over ATT_SPLITS × kv-heads blocks.
// More than ATT_MAXG query heads per K/V head (GLM-4.5: 96 over 8, G = 12) run through the *_grouped entries: the
// kv-head grid dimension then counts (kv head, head group) pairs, attHeadGroups(G) groups of at most ATT_MAXG heads
// each (attHeadGroup), and a block does for its group exactly what the ungrouped kernel does for all G heads — each
// head's scores, softmax steps and P·V in the same order, so its output is the same bits however its group is cut.
// The ungrouped entries are the same template with GROUPED false: they compile to what they compiled to before.
// ---------------------------------------------------------------------------------------------------------------
#define ATT_THREADS 128
#define ATT_CHUNK 128
#define ATT_MAXG 8
#define ATT_MAXD 256
#define ATT_SPLITS 16

// head groups of a K/V head's G query heads: as few as hold at most ATT_MAXG heads each, sizes as even as possible
__host__ __device__ __forceinline__ int attHeadGroups(int G) { return (G + ATT_MAXG - 1) / ATT_MAXG; }
// the group of grid index x (kv head × groups + group): its kv head, first query head within the K/V head, size
struct AttHeadGroup {
    int kvh, g0, n;
};
__device__ __forceinline__ AttHeadGroup attHeadGroup(int x, int G) {
    int hg = attHeadGroups(G), size = (G + hg - 1) / hg, g0 = (x % hg) * size;
    return {x / hg, g0, min(size, G - g0)};
}

// One partition's online-softmax step for query head g, by one warp: the partition's n scaled scores (score(j))
// become probabilities e^(s - mNew) in pT[j][g] (in place when score reads pT), the running max and sum (mS, lS)
// move on, and corrS[g] = e^(mOld - mNew) rescales the head's accumulator. The block and the staged attention
// kernels both call it, which is what keeps their partials bit-identical.
template <typename Score>
__device__ __forceinline__ void softmaxStep(Score score, float (*pT)[ATT_MAXG], int n, int g, float* mS, float* lS,
                                            float* corrS) {
    int lane = threadIdx.x & 31;
    float m = -INFINITY;
    for (int j = lane; j < n; j += 32) m = fmaxf(m, score(j));
    m = warpMax(m);
    float mOld = mS[g];
    float mNew = fmaxf(mOld, m);
    float sum = 0.f;
    for (int j = lane; j < n; j += 32) {
        float e = expf(score(j) - mNew);
        pT[j][g] = e;
        sum += e;
    }
    sum = warpSum(sum);
    if (lane == 0) {
        float corr = expf(mOld - mNew); // exp(-inf) = 0 on the first partition
        corrS[g] = corr;
        lS[g] = lS[g] * corr + sum;
        mS[g] = mNew;
    }
}

template <typename KVT, bool GROUPED = false>
__device__ __forceinline__ void attentionBody(const float* q, const KVT* kCache, const KVT* vCache, const int* tokSeq,
                                              const int* positions, const int* blockTables, const int* meta,
                                              int blockSize, int nH, int nKV, int D, float scale, float* part) {
    __shared__ __align__(16) float qs[ATT_MAXG * ATT_MAXD];
    __shared__ float sc[ATT_MAXG][ATT_CHUNK];
    __shared__ __align__(16) float pT[ATT_CHUNK][ATT_MAXG]; // probabilities, position-major: 2 × 16-byte reads per position
    __shared__ int slotS[ATT_CHUNK];
    __shared__ float mS[ATT_MAXG], lS[ATT_MAXG], corrS[ATT_MAXG];
    int t = blockIdx.x, kvh = blockIdx.y, tid = threadIdx.x;
    int G = nH / nKV;
    int h0 = 0; // GROUPED: the group's first head (G heads from it); otherwise kvh * G, written as before
    if (GROUPED) {
        AttHeadGroup hg = attHeadGroup(blockIdx.y, nH / nKV);
        kvh = hg.kvh;
        G = hg.n;
        h0 = kvh * (nH / nKV) + hg.g0;
    }
    int btStride = meta[0];
    const int* bt = blockTables + (size_t)tokSeq[t] * btStride;
    int ctx = positions[t] + 1;
    int z = blockIdx.z;
    if (z * ATT_CHUNK >= ctx) return;
    int qDim = nH * D;
    for (int i = tid; i < G * D; i += ATT_THREADS) qs[i] = q[(size_t)t * qDim + (GROUPED ? h0 * D : kvh * G * D) + i];
    if (tid < ATT_MAXG) { mS[tid] = -INFINITY; lS[tid] = 0.f; }
    float acc[ATT_MAXG][2];
#pragma unroll
    for (int g = 0; g < ATT_MAXG; g++) { acc[g][0] = 0.f; acc[g][1] = 0.f; }
    __syncthreads();
    int warp = tid >> 5;
    for (int c0 = z * ATT_CHUNK; c0 < ctx; c0 += ATT_SPLITS * ATT_CHUNK) {
        int n = min(ATT_CHUNK, ctx - c0);
        // scores: thread j owns position c0 + j
        if (tid < n) {
            int p = c0 + tid;
            int slot = bt[p / blockSize] * blockSize + (p % blockSize);
            slotS[tid] = slot;
            const KVT* kr = kCache + ((size_t)slot * nKV + kvh) * D;
            float s[ATT_MAXG];
#pragma unroll
            for (int g = 0; g < ATT_MAXG; g++) s[g] = 0.f;
#pragma unroll 8
            for (int d = 0; d < D; d += 4) {
                float kv[4];
                kvLoad4(kr + d, kv);
#pragma unroll
                for (int g = 0; g < ATT_MAXG; g++) {
                    if (g < G) {
                        float4 qg = *reinterpret_cast<const float4*>(qs + g * D + d);
                        s[g] = fmaf(qg.x, kv[0], s[g]);
                        s[g] = fmaf(qg.y, kv[1], s[g]);
                        s[g] = fmaf(qg.z, kv[2], s[g]);
                        s[g] = fmaf(qg.w, kv[3], s[g]);
                    }
                }
            }
#pragma unroll
            for (int g = 0; g < ATT_MAXG; g++) if (g < G) sc[g][tid] = s[g] * scale;
        }
        __syncthreads();
        // softmax bookkeeping: one warp per query head
        for (int g = warp; g < G; g += ATT_THREADS / 32)
            softmaxStep([&](int j) { return sc[g][j]; }, pT, n, g, mS, lS, corrS);
        __syncthreads();
        // P @ V: thread owns dims tid and tid + 128
#pragma unroll
        for (int dd = 0; dd < 2; dd++) {
            int d = tid + dd * ATT_THREADS;
            if (d < D) {
#pragma unroll
                for (int g = 0; g < ATT_MAXG; g++) if (g < G) acc[g][dd] *= corrS[g];
#pragma unroll 8
                for (int j = 0; j < n; j++) {
                    float vv = kvLoad(vCache + ((size_t)slotS[j] * nKV + kvh) * D + d);
                    float4 p0 = *reinterpret_cast<const float4*>(&pT[j][0]);
                    float4 p1 = *reinterpret_cast<const float4*>(&pT[j][4]);
                    const float pj[8] = {p0.x, p0.y, p0.z, p0.w, p1.x, p1.y, p1.z, p1.w};
#pragma unroll
                    for (int g = 0; g < ATT_MAXG; g++) if (g < G) acc[g][dd] = fmaf(pj[g], vv, acc[g][dd]);
                }
            }
        }
        __syncthreads();
    }
    // partial of (t, head, z): [acc (D) | max | sum]
#pragma unroll
    for (int dd = 0; dd < 2; dd++) {
        int d = tid + dd * ATT_THREADS;
        if (d < D) {
#pragma unroll
            for (int g = 0; g < ATT_MAXG; g++)
                if (g < G) part[(((size_t)t * nH + (GROUPED ? h0 : kvh * G) + g) * ATT_SPLITS + z) * (D + 2) + d] = acc[g][dd];
        }
    }
    if (tid < G) {
        float* pp = part + (((size_t)t * nH + (GROUPED ? h0 : kvh * G) + tid) * ATT_SPLITS + z) * (D + 2);
        pp[D] = mS[tid];
        pp[D + 1] = lS[tid];
    }
}

// Merges the attention partials of (token, head) in z order: out = sum_z e^(m_z - M) acc_z / sum_z e^(m_z - M) l_z,
// written as a split row (storeSplit): out is only ever the O projection's input.
// One warp per (token, head), grid (tokens, ceil(nH / warps per block)); D even. Lane z computes e^(m_z - M) once;
// M (fmaxf over z in order), L and each output are then formed in z order as the one-block-per-head kernel did.
extern "C" __global__ void attention_combine(const float* part, const int* positions, int nH, int D, float* out) {
    int t = blockIdx.x, h = blockIdx.y * (blockDim.x >> 5) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (h >= nH) return;
    int ctx = positions[t] + 1;
    int nz = min(ATT_SPLITS, (ctx + ATT_CHUNK - 1) / ATT_CHUNK);
    const float* p = part + ((size_t)t * nH + h) * ATT_SPLITS * (D + 2);
    float m = lane < nz ? p[lane * (D + 2) + D] : 0.f;
    float l = lane < nz ? p[lane * (D + 2) + D + 1] : 0.f;
    float M = -INFINITY;
    for (int z = 0; z < nz; z++) M = fmaxf(M, __shfl_sync(0xffffffffu, m, z));
    float e = expf(m - M);
    float ez[ATT_SPLITS];
#pragma unroll
    for (int z = 0; z < ATT_SPLITS; z++) ez[z] = __shfl_sync(0xffffffffu, e, z);
    float L = 0.f;
    for (int z = 0; z < nz; z++) L += ez[z] * __shfl_sync(0xffffffffu, l, z);
    float* orow = out + (size_t)t * nH * D; // the token's split row (the O projection's input); head h at h * D
#pragma unroll 2
    for (int dd = 2 * lane; dd < D; dd += 64) {
        int d = h * D + dd;
        float a0 = 0.f, a1 = 0.f;
#pragma unroll
        for (int z = 0; z < ATT_SPLITS; z++) {
            if (z < nz) {
                float2 v = *reinterpret_cast<const float2*>(p + z * (D + 2) + dd);
                a0 += ez[z] * v.x;
                a1 += ez[z] * v.y;
            }
        }
        storeSplit(orow, d, a0 / L);
        storeSplit(orow, d + 1, a1 / L);
    }
}

#define ATT_ARGS const int* tokSeq, const int* positions, const int* blockTables, const int* meta, int blockSize, \
    int nH, int nKV, int D, float scale, float* part
extern "C" __global__ void __launch_bounds__(ATT_THREADS)
attention(const float* q, const float* kCache, const float* vCache, ATT_ARGS) {
    attentionBody<float>(q, kCache, vCache, tokSeq, positions, blockTables, meta, blockSize, nH, nKV, D, scale, part);
}
extern "C" __global__ void __launch_bounds__(ATT_THREADS)
attention_bf16(const float* q, const bf16* kCache, const bf16* vCache, ATT_ARGS) {
    attentionBody<bf16>(q, kCache, vCache, tokSeq, positions, blockTables, meta, blockSize, nH, nKV, D, scale, part);
}
extern "C" __global__ void __launch_bounds__(ATT_THREADS)
attention_fp8(const float* q, const fp8* kCache, const fp8* vCache, ATT_ARGS) {
    attentionBody<fp8>(q, kCache, vCache, tokSeq, positions, blockTables, meta, blockSize, nH, nKV, D, scale, part);
}
// G > ATT_MAXG: grid (tokens, nKV × attHeadGroups(G), ATT_SPLITS)
extern "C" __global__ void __launch_bounds__(ATT_THREADS)
attention_grouped(const float* q, const float* kCache, const float* vCache, ATT_ARGS) {
    attentionBody<float, true>(q, kCache, vCache, tokSeq, positions, blockTables, meta, blockSize, nH, nKV, D, scale,
                               part);
}
extern "C" __global__ void __launch_bounds__(ATT_THREADS)
attention_grouped_bf16(const float* q, const bf16* kCache, const bf16* vCache, ATT_ARGS) {
    attentionBody<bf16, true>(q, kCache, vCache, tokSeq, positions, blockTables, meta, blockSize, nH, nKV, D, scale,
                              part);
}
extern "C" __global__ void __launch_bounds__(ATT_THREADS)
attention_grouped_fp8(const float* q, const fp8* kCache, const fp8* vCache, ATT_ARGS) {
    attentionBody<fp8, true>(q, kCache, vCache, tokSeq, positions, blockTables, meta, blockSize, nH, nKV, D, scale,
                             part);
}
