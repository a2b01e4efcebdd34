// MLA (multi-head latent attention: DeepSeek-V2 / V3, Moonlight, Kimi-K2) over a paged latent cache, absorbed form:
// the building blocks for decode (any number of tokens, each attending causally to its sequence, as `attention`):
// mla_rope_latent* writes a token's cache row and rotates its query's rope part, mla_attention* attends.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
// bench/cuda/mla_bench.cu checks them against double-precision CPU references (the attention's also against the
// expanded, non-absorbed MLA of transformers' DeepseekV3Attention), then times them.
//
// The cache holds, per position, what transformers' DeepseekV3Attention caches: the latent c = kv_a_layernorm(
// kv_a_proj_with_mqa(x)[:kv_lora_rank]) (R = kv_lora_rank values) followed by the rotated shared key
// k_rot = RoPE(kv_a_proj_with_mqa(x)[kv_lora_rank:]) (DR = qk_rope_head_dim values): one row [c | k_rot] of R + DR
// values, a single "KV head" shared by all query heads (layout [slot][R + DR]), stored as fp32, bf16 or fp8 e4m3
// (KvCacheDtype, as the other caches: rounded once, when mla_rope_latent writes it). For query head h, with
// W_uk_h (qk_nope_head_dim × R) and W_uv_h (v_head_dim × R) the head's rows of kv_b_proj:
//   score(p) = scale · (q_nope_h · W_uk_h c_p + q_rot_h · k_rot_p) = scale · (qLat_h · c_p + q_rot_h · k_rot_p)
//   with qLat_h = W_uk_h^T q_nope_h (R values: the absorbed query, computed before this kernel);
//   out_h = sum_p softmax(score)_p · W_uv_h c_p = W_uv_h · latOut_h, latOut_h = sum_p softmax(score)_p · c_p.
// This kernel computes latOut (R values per head) as unnormalised partials; attention_combine (attention.cuh, with
// D = R) merges them into split rows [token][nH · R], the input of the per-head W_uv product. Both products around
// it are the expert GEMMs with the head as the expert (tiles (head, row, 1); W_uv_h: rows of length R at
// kv_b_proj + h (dn + dv) R + dn R; W_uk_h^T: a per-head transposed copy [R][dn] made at load time).
// scale = qk_head_dim^-0.5, times mscale² under YaRN (transformers' yarn_apply_mscale).
//
// The same partitions and orders as `attention`: partitions of ATT_CHUNK positions, block z takes partitions
// z, z + ATT_SPLITS, …; thread = position for the scores (FMA over the R latent then the DR rope values, in order),
// softmaxStep per head, thread = latent dimension for P·c (positions in order). Every order depends on the position
// only: a token's result is the same alone or in any batch. Grid (tokens, ceil(nH / MLA_HEADS), ATT_SPLITS),
// MLA_THREADS threads; each block takes MLA_HEADS query heads, so the latent rows are read ceil(nH / 8) times per
// token (from L2 after the first): a first version, not yet a tuned one (see docs/cuda-notes.md "Source layout").
// Limits (the host checks them): R <= MLA_MAXR, DR <= MLA_MAXDR, R % 8 == 0, DR % 8 == 0.
#pragma once
#include "attention.cuh"
#include "block_reduce.cuh"
#include "kv_elements.cuh"

#define MLA_THREADS 128
#define MLA_MAXR 512
#define MLA_MAXDR 64
#define MLA_HEADS ATT_MAXG

// 8 consecutive cache elements (16-byte aligned) as fp32
__device__ __forceinline__ void kvLoad8(const float* p, float* o) { kvLoad4(p, o); kvLoad4(p + 4, o + 4); }
__device__ __forceinline__ void kvLoad8(const bf16* p, float* o) { bf16x8ToFloat(*reinterpret_cast<const uint4*>(p), o); }
__device__ __forceinline__ void kvLoad8(const fp8* p, float* o) { kvLoad4(p, o); kvLoad4(p + 4, o + 4); }

template <typename KVT>
__device__ __forceinline__ void mlaAttentionBody(const float* qLat, const float* qRope, const KVT* latCache,
                                                 const int* tokSeq, const int* positions, const int* blockTables,
                                                 const int* meta, int blockSize, int nH, int R, int DR, float scale,
                                                 float* part) {
    static_assert(ATT_CHUNK == MLA_THREADS, "thread = position for the scores");
    constexpr int RDMAX = MLA_MAXR + MLA_MAXDR;
    constexpr int DPT = MLA_MAXR / MLA_THREADS; // latent dimensions per thread in P·c
    __shared__ __align__(16) float qs[MLA_HEADS][RDMAX];    // [qLat | qRope] of the block's heads
    __shared__ __align__(16) float pT[ATT_CHUNK][ATT_MAXG]; // scaled scores, then (in place) probabilities
    __shared__ int slotS[ATT_CHUNK];
    __shared__ float mS[ATT_MAXG], lS[ATT_MAXG], corrS[ATT_MAXG];
    int t = blockIdx.x, h0 = blockIdx.y * MLA_HEADS, z = blockIdx.z, tid = threadIdx.x, warp = tid >> 5;
    int G = min(MLA_HEADS, nH - h0);
    int ctx = positions[t] + 1;
    if (z * ATT_CHUNK >= ctx) return;
    const int* bt = blockTables + (size_t)tokSeq[t] * meta[0];
    int RD = R + DR;
    for (int i = tid; i < MLA_HEADS * RD; i += MLA_THREADS) {
        int g = i / RD, d = i % RD;
        float v = 0.f;
        if (g < G) v = d < R ? qLat[((size_t)t * nH + h0 + g) * R + d] : qRope[((size_t)t * nH + h0 + g) * DR + d - R];
        qs[g][d] = v;
    }
    if (tid < ATT_MAXG) { mS[tid] = -INFINITY; lS[tid] = 0.f; }
    float acc[ATT_MAXG][DPT];
#pragma unroll
    for (int g = 0; g < ATT_MAXG; g++)
#pragma unroll
        for (int i = 0; i < DPT; i++) acc[g][i] = 0.f;
    __syncthreads();
    for (int c0 = z * ATT_CHUNK; c0 < ctx; c0 += ATT_SPLITS * ATT_CHUNK) {
        int n = min(ATT_CHUNK, ctx - c0);
        if (tid < n) {
            int p = c0 + tid;
            int slot = bt[p / blockSize] * blockSize + (p % blockSize);
            slotS[tid] = slot;
            const KVT* row = latCache + (size_t)slot * RD;
            float s[ATT_MAXG];
#pragma unroll
            for (int g = 0; g < ATT_MAXG; g++) s[g] = 0.f;
#pragma unroll 2
            for (int d = 0; d < RD; d += 8) {
                float kv[8];
                kvLoad8(row + d, kv);
#pragma unroll
                for (int g = 0; g < ATT_MAXG; g++) {
                    if (g < G) {
                        float4 a = *reinterpret_cast<const float4*>(&qs[g][d]);
                        float4 b = *reinterpret_cast<const float4*>(&qs[g][d + 4]);
                        s[g] = fmaf(a.x, kv[0], s[g]); s[g] = fmaf(a.y, kv[1], s[g]);
                        s[g] = fmaf(a.z, kv[2], s[g]); s[g] = fmaf(a.w, kv[3], s[g]);
                        s[g] = fmaf(b.x, kv[4], s[g]); s[g] = fmaf(b.y, kv[5], s[g]);
                        s[g] = fmaf(b.z, kv[6], s[g]); s[g] = fmaf(b.w, kv[7], s[g]);
                    }
                }
            }
#pragma unroll
            for (int g = 0; g < ATT_MAXG; g++) if (g < G) pT[tid][g] = s[g] * scale;
        }
        __syncthreads();
        for (int g = warp; g < G; g += MLA_THREADS / 32)
            softmaxStep([&](int j) { return pT[j][g]; }, pT, n, g, mS, lS, corrS);
        __syncthreads();
#pragma unroll
        for (int i = 0; i < DPT; i++) {
            int d = tid + i * MLA_THREADS;
            if (d < R) {
#pragma unroll
                for (int g = 0; g < ATT_MAXG; g++) if (g < G) acc[g][i] *= corrS[g];
#pragma unroll 4
                for (int j = 0; j < n; j++) {
                    float vv = kvLoad(latCache + (size_t)slotS[j] * RD + d);
                    float4 p0 = *reinterpret_cast<const float4*>(&pT[j][0]);
                    float4 p1 = *reinterpret_cast<const float4*>(&pT[j][4]);
                    const float pj[8] = {p0.x, p0.y, p0.z, p0.w, p1.x, p1.y, p1.z, p1.w};
#pragma unroll
                    for (int g = 0; g < ATT_MAXG; g++) if (g < G) acc[g][i] = fmaf(pj[g], vv, acc[g][i]);
                }
            }
        }
        __syncthreads();
    }
    // partial of (t, head, z): [latOut (R) | max | sum], attention_combine's layout with D = R
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        int d = tid + i * MLA_THREADS;
        if (d < R) {
#pragma unroll
            for (int g = 0; g < ATT_MAXG; g++)
                if (g < G) part[(((size_t)t * nH + h0 + g) * ATT_SPLITS + z) * (R + 2) + d] = acc[g][i];
        }
    }
    if (tid < G) {
        float* pp = part + (((size_t)t * nH + h0 + tid) * ATT_SPLITS + z) * (R + 2);
        pp[R] = mS[tid];
        pp[R + 1] = lS[tid];
    }
}

#define MLA_ARGS_T(KVT) const float* qLat, const float* qRope, const KVT* latCache, const int* tokSeq, \
    const int* positions, const int* blockTables, const int* meta, int blockSize, int nH, int R, int DR, float scale, \
    float* part
#define MLA_PASS qLat, qRope, latCache, tokSeq, positions, blockTables, meta, blockSize, nH, R, DR, scale, part
extern "C" __global__ void __launch_bounds__(MLA_THREADS) mla_attention(MLA_ARGS_T(float)) {
    mlaAttentionBody<float>(MLA_PASS);
}
extern "C" __global__ void __launch_bounds__(MLA_THREADS) mla_attention_bf16(MLA_ARGS_T(bf16)) {
    mlaAttentionBody<bf16>(MLA_PASS);
}
extern "C" __global__ void __launch_bounds__(MLA_THREADS) mla_attention_fp8(MLA_ARGS_T(fp8)) {
    mlaAttentionBody<fp8>(MLA_PASS);
}

// ---------------------------------------------------------------------------------------------------------------
// A token's latent cache row and its query's rotated rope part (DeepseekV3Attention.forward up to the cache update):
//   latent  c = kv_a_layernorm(kvA[0..R)): x / sqrt(mean(x^2) + eps) * w, sums as rmsnorm's (thread-strided
//           partials, blockSum) at MLAW_THREADS threads
//   k_rot   RoPE(kvA[R..R+DR)) and q_rot = RoPE(q[head][DN..DN+DR)) for every head: pair i = (x[2i], x[2i+1]) when
//           interleaved (DeepSeek's rope_interleave, V2's complex rotation), else (x[i], x[i + DR/2]) (rotate-half);
//           out[i] = x1 cos - x2 sin, out[i + DR/2] = x2 cos + x1 sin, cos / sin of position · invFreq[i] (the host's
//           invFreq carries YaRN) — the halves layout transformers' apply_rotary_pos_emb_interleave returns. V2's
//           complex product keeps the pairs interleaved instead; attention only uses q_rot · k_rot, the same sum
//           in either layout.
// q: q_b_proj (or q_proj) output [T][nH][DN + DR]; kvA: kv_a_proj_with_mqa output [T][R + DR]; writes the row
// [c | k_rot] at latCache + slots[t] (R + DR) and qRope [T][nH][DR]. One block per token, MLAW_THREADS threads.
// ---------------------------------------------------------------------------------------------------------------
#define MLAW_THREADS 128
template <typename KVT>
__device__ __forceinline__ void mlaRopeLatentBody(const float* q, const float* kvA, const bf16* kvNorm, float eps,
                                                  const float* invFreq, const int* positions, const int* slots,
                                                  int nH, int DN, int R, int DR, int interleaved, float* qRope,
                                                  KVT* latCache) {
    __shared__ float cosS[MLA_MAXDR / 2], sinS[MLA_MAXDR / 2];
    __shared__ float scratch[32];
    int t = blockIdx.x, tid = threadIdx.x, nt = blockDim.x, half = DR / 2;
    float pos = (float)positions[t];
    for (int i = tid; i < half; i += nt) {
        float ang = pos * invFreq[i];
        cosS[i] = cosf(ang);
        sinS[i] = sinf(ang);
    }
    const float* a = kvA + (size_t)t * (R + DR);
    KVT* row = latCache + (size_t)slots[t] * (R + DR);
    float ss = 0.f;
    for (int i = tid; i < R; i += nt) ss += a[i] * a[i];
    ss = blockSum(ss, scratch); // its barriers also publish cosS / sinS
    float inv = 1.0f / sqrtf(ss / (float)R + eps);
    for (int i = tid; i < R; i += nt) kvStore(row + i, __bfloat162float(kvNorm[i]) * (a[i] * inv));
    auto rot = [&](const float* x, int i, float* o) {
        float x1 = interleaved ? x[2 * i] : x[i], x2 = interleaved ? x[2 * i + 1] : x[i + half];
        float c = cosS[i], sn = sinS[i];
        o[0] = __fadd_rn(__fmul_rn(x1, c), __fmul_rn(-x2, sn));
        o[1] = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, sn));
    };
    for (int i = tid; i < half; i += nt) {
        float o[2];
        rot(a + R, i, o);
        kvStore(row + R + i, o[0]);
        kvStore(row + R + half + i, o[1]);
    }
    for (int idx = tid; idx < nH * half; idx += nt) {
        int h = idx / half, i = idx % half;
        float o[2];
        rot(q + ((size_t)t * nH + h) * (DN + DR) + DN, i, o);
        float* qo = qRope + ((size_t)t * nH + h) * DR;
        qo[i] = o[0];
        qo[i + half] = o[1];
    }
}

#define MLAW_ARGS const float* q, const float* kvA, const bf16* kvNorm, float eps, const float* invFreq, \
    const int* positions, const int* slots, int nH, int DN, int R, int DR, int interleaved, float* qRope
#define MLAW_PASS q, kvA, kvNorm, eps, invFreq, positions, slots, nH, DN, R, DR, interleaved, qRope, latCache
extern "C" __global__ void __launch_bounds__(MLAW_THREADS) mla_rope_latent(MLAW_ARGS, float* latCache) {
    mlaRopeLatentBody<float>(MLAW_PASS);
}
extern "C" __global__ void __launch_bounds__(MLAW_THREADS) mla_rope_latent_bf16(MLAW_ARGS, bf16* latCache) {
    mlaRopeLatentBody<bf16>(MLAW_PASS);
}
extern "C" __global__ void __launch_bounds__(MLAW_THREADS) mla_rope_latent_fp8(MLAW_ARGS, fp8* latCache) {
    mlaRopeLatentBody<fp8>(MLAW_PASS);
}
