// MLA (DeepSeek-V2 / V3, Moonlight) with the decompressed K/V cache: the CPU backend's form (CpuMlaAttention,
// docs/architectures.md "The MLA K/V cache"), so the existing GQA attention kernels run it with one K/V head per
// query head. The latent cache with the absorbed form (mla_attention.cuh) is the next step.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
// bench/cuda/mla_rope_kv_bench.cu checks it against a CPU reference.
#pragma once
#include "kv_elements.cuh"

// ---------------------------------------------------------------------------------------------------------------
// One token's rotated query and its per-head K / V cache rows, from the products the host ran before it:
//   q     [T][nH][DN + DR]  q_b_proj(q_a_layernorm(q_a_proj(x))) or q_proj(x)
//   kRope [T][DR]           the last DR outputs of kv_a_proj_with_mqa(x) (the key's rope part, shared by all heads)
//   kvb   [T][nH][DN + DV]  kv_b_proj(kv_a_layernorm(latent)): each head's [k_nope | v]
// Every head is padded with zeros to D (>= DN + DR and >= DV; D % 4 == 0, the attention kernels' loads), so the
// attention kernels take K and V of one width; the zeros add exact zeros to every score and give exact zero
// outputs, which the host's o_proj (uploaded with zero columns there) multiplies by zero:
//   qOut[t][h]          = [q_nope | RoPE(q_rope) | 0 …]                     (fp32, [T][nH][D])
//   kCache[slot][h]     = [k_nope | RoPE(kRope) | 0 …]
//   vCache[slot][h]     = [v | 0 …]                                          (slot = slots[t]; cache element KVT)
// RoPE: pair i = (x[2i], x[2i+1]) when interleaved (DeepSeek's rope_interleave; V2 always), else (x[i], x[i+DR/2]);
// out[i] = x1 cos - x2 sin, out[i + DR/2] = x2 cos + x1 sin — transformers' apply_rotary_pos_emb_interleave layout,
// CpuOps.ropeInterleaved / CpuOps.rope. cos / sin = cosf / sinf(position · invFreq[i]) (the host's invFreq carries
// YaRN's frequencies), each times attnFactor when it is not 1 (YaRN's attention_factor, as RopeTable scales them).
// One block per token, MLAX_THREADS threads; DR <= MLAX_MAXDR, DR even.
// ---------------------------------------------------------------------------------------------------------------
#define MLAX_THREADS 256
#define MLAX_MAXDR 256

template <typename KVT>
__device__ __forceinline__ void mlaRopeKvBody(const float* q, const float* kRope, const float* kvb,
                                              const int* positions, const int* slots, const float* invFreq,
                                              float attnFactor, int nH, int DN, int DR, int DV, int D,
                                              int interleaved, float* qOut, KVT* kCache, KVT* vCache) {
    __shared__ float cosS[MLAX_MAXDR / 2], sinS[MLAX_MAXDR / 2];
    __shared__ float kRot[MLAX_MAXDR];
    int t = blockIdx.x, tid = threadIdx.x, nt = blockDim.x, half = DR / 2, DQK = DN + DR;
    float pos = (float)positions[t];
    for (int i = tid; i < half; i += nt) {
        float ang = pos * invFreq[i];
        float c = cosf(ang), s = sinf(ang);
        if (attnFactor != 1.f) {
            c = __fmul_rn(c, attnFactor);
            s = __fmul_rn(s, attnFactor);
        }
        cosS[i] = c;
        sinS[i] = s;
    }
    __syncthreads();
    // element i of RoPE(x) (x: the DR rope values)
    auto rot = [&](const float* x, int i) {
        int j = i < half ? i : i - half;
        float x1 = interleaved ? x[2 * j] : x[j], x2 = interleaved ? x[2 * j + 1] : x[j + half];
        float c = cosS[j], sn = sinS[j];
        return i < half ? __fadd_rn(__fmul_rn(x1, c), __fmul_rn(-x2, sn))
                        : __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, sn));
    };
    const float* kr = kRope + (size_t)t * DR;
    for (int i = tid; i < DR; i += nt) kRot[i] = rot(kr, i);
    __syncthreads();
    size_t slot = (size_t)slots[t];
    const float* qRow = q + (size_t)t * nH * DQK;
    const float* kvRow = kvb + (size_t)t * nH * (DN + DV);
    float* qo = qOut + (size_t)t * nH * D;
    KVT* kc = kCache + slot * nH * D;
    KVT* vc = vCache + slot * nH * D;
    for (int idx = tid; idx < nH * D; idx += nt) {
        int h = idx / D, d = idx - h * D;
        const float* qh = qRow + (size_t)h * DQK;
        const float* kvh = kvRow + (size_t)h * (DN + DV);
        qo[idx] = d < DN ? qh[d] : d < DQK ? rot(qh + DN, d - DN) : 0.f;
        kvStore(kc + idx, d < DN ? kvh[d] : d < DQK ? kRot[d - DN] : 0.f);
        kvStore(vc + idx, d < DV ? kvh[DN + d] : 0.f);
    }
}

#define MLAX_ARGS const float* q, const float* kRope, const float* kvb, const int* positions, const int* slots, \
    const float* invFreq, float attnFactor, int nH, int DN, int DR, int DV, int D, int interleaved, float* qOut
#define MLAX_PASS q, kRope, kvb, positions, slots, invFreq, attnFactor, nH, DN, DR, DV, D, interleaved, qOut, \
    kCache, vCache
extern "C" __global__ void __launch_bounds__(MLAX_THREADS) mla_rope_kv(MLAX_ARGS, float* kCache, float* vCache) {
    mlaRopeKvBody<float>(MLAX_PASS);
}
extern "C" __global__ void __launch_bounds__(MLAX_THREADS) mla_rope_kv_bf16(MLAX_ARGS, bf16* kCache, bf16* vCache) {
    mlaRopeKvBody<bf16>(MLAX_PASS);
}
extern "C" __global__ void __launch_bounds__(MLAX_THREADS) mla_rope_kv_fp8(MLAX_ARGS, fp8* kCache, fp8* vCache) {
    mlaRopeKvBody<fp8>(MLAX_PASS);
}
