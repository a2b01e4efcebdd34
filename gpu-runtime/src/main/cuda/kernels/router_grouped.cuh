// Group-limited routers, the router kinds after plain softmax top-k (router_topk.cuh): DeepSeek-V2 (softmax scores,
// topk_method greedy or group_limited_greedy), DeepSeek-V3 / GLM-4.5 / Moonlight / Kimi-K2 (sigmoid scores plus
// e_score_correction_bias, group-limited), and Qwen2-MoE (softmax top-k in one group, plus the sigmoid gate of its
// shared expert). Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it
// uses. bench/cuda/router_bench.cu holds the CPU reference and checks this kernel against it.
//
// The math is transformers 5.17's (DeepseekV2TopkRouter, DeepseekV3TopkRouter = Glm4MoeTopkRouter,
// Qwen2MoeTopKRouter + Qwen2MoeSparseMoeBlock.shared_expert_gate), per token:
//   logits   l[e] = xn . Wr[e] in fp32 (FMA in router_topk's fixed order: batch-invariant)
//   scores   ROUTE_SOFTMAX: s = softmax(l) (router_topk's formula); ROUTE_SIGMOID_BIAS: s = 1 / (1 + e^-l)
//   choice   c = s, plus e_score_correction_bias (fp32) for ROUTE_SIGMOID_BIAS: selection only, never a weight
//   groups   when 1 < nGroup and topkGroup < nGroup (E / nGroup experts a group): a group's score is its largest c
//            (ROUTE_SOFTMAX, DeepSeek-V2) or the sum of its two largest c (ROUTE_SIGMOID_BIAS, DeepSeek-V3); the
//            topkGroup best groups stay, the others' experts get c = 0 (V2's masked_fill 0.0) or -inf (V3's)
//   select   the K largest c
//   weights  w = c[id] (ROUTE_SOFTMAX: the probability, masked as transformers masks it) or s[id] (ROUTE_SIGMOID_BIAS:
//            the unbiased score); normTopk: w /= (sum_k w + normEps) (1e-20 for DeepSeek-V3 / GLM, 0 for Qwen2-MoE;
//            transformers 5.17's DeepSeek-V2 never normalises: pass 0); then w *= scaling (routed_scaling_factor,
//            1 for Qwen2-MoE)
// Order and ties (deterministic, documented, unlike torch.topk's): on equal scores the lower expert (or group) id
// wins, everywhere. The K routed ids are listed by weight descending (lower id first on equal weight), which is how
// the reference fixtures list them ("sorted by combine weight, descending"); transformers' DeepSeek / GLM routers
// call torch.topk(sorted=False) and give no order. For ROUTE_SOFTMAX that is the selection order, as router_topk's;
// for ROUTE_SIGMOID_BIAS the bias can make it differ. The weight sum runs over k in that order.
// Limits (the host checks them): E <= ROUTER_MAXE, H % 8 == 0, K <= 32, K <= E, nGroup <= RG_MAXG, E % nGroup == 0,
// ROUTE_SIGMOID_BIAS with nGroup > 1: E / nGroup >= 2; blockDim a multiple of 32. 512 and 1,024 threads a block give
// the same bits while E <= 512 (each thread then holds at most one logit in the softmax's block sums): ForwardPass's
// rule for router_topk applies unchanged.
#pragma once
#include "block_reduce.cuh"
#include "bf16_split.cuh"
#include "router_topk.cuh" // ROUTER_MAXE

#define ROUTE_SOFTMAX 0
#define ROUTE_SIGMOID_BIAS 1
#define RG_MAXG 64
#define RG_MAXK 32

// l[e] = xr . W[e] for e < E, and l[E] = xr . extraRow when extraRow is given (Qwen2-MoE's shared-expert gate), by
// the whole block: each warp four rows at a time (independent loads in flight), every row in router_topk's order —
// lane-strided 8-wide FMA chains, then warpSum. router_topk still has its own copy of this loop: calling this one
// changes its PTX (same arithmetic, other instruction order), a change for a GPU-checked commit, not for the split.
__device__ __forceinline__ void routerLogits(const float* xr, const bf16* W, const bf16* extraRow, int E, int H,
                                             float* l) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    int rows = E + (extraRow ? 1 : 0);
    constexpr int EPW = 4;
    for (int e0 = warp; e0 < rows; e0 += EPW * nw) {
        float s[EPW];
        const bf16* wr[EPW];
#pragma unroll
        for (int i = 0; i < EPW; i++) {
            s[i] = 0.f;
            int e = min(e0 + i * nw, rows - 1);
            wr[i] = e < E ? W + (size_t)e * H : extraRow;
        }
        for (int k = lane * 8; k < H; k += 256) {
            float4 a = *reinterpret_cast<const float4*>(xr + k);
            float4 b = *reinterpret_cast<const float4*>(xr + k + 4);
#pragma unroll
            for (int i = 0; i < EPW; i++) {
                float w[8];
                bf16x8ToFloat(*reinterpret_cast<const uint4*>(wr[i] + k), w);
                s[i] = fmaf(w[0], a.x, s[i]); s[i] = fmaf(w[1], a.y, s[i]);
                s[i] = fmaf(w[2], a.z, s[i]); s[i] = fmaf(w[3], a.w, s[i]);
                s[i] = fmaf(w[4], b.x, s[i]); s[i] = fmaf(w[5], b.y, s[i]);
                s[i] = fmaf(w[6], b.z, s[i]); s[i] = fmaf(w[7], b.w, s[i]);
            }
        }
#pragma unroll
        for (int i = 0; i < EPW; i++) {
            float v = warpSum(s[i]);
            if (lane == 0 && e0 + i * nw < rows) l[e0 + i * nw] = v;
        }
    }
}

// logits l[0..E) -> scores s (in place) and choice c, by the whole block (starts and ends with a barrier).
__device__ __forceinline__ void routerScores(float* l, float* c, const float* bias, int E, int kind, float* scratch) {
    __syncthreads();
    if (kind == ROUTE_SOFTMAX) {
        float m = -INFINITY;
        for (int e = threadIdx.x; e < E; e += blockDim.x) m = fmaxf(m, l[e]);
        m = blockMax(m, scratch);
        float z = 0.f;
        for (int e = threadIdx.x; e < E; e += blockDim.x) z += expf(l[e] - m);
        z = blockSum(z, scratch);
        __syncthreads();
        for (int e = threadIdx.x; e < E; e += blockDim.x) {
            float p = expf(l[e] - m) / z;
            l[e] = p;
            c[e] = p;
        }
    } else {
        for (int e = threadIdx.x; e < E; e += blockDim.x) {
            float s = 1.0f / (1.0f + expf(-l[e]));
            l[e] = s;
            c[e] = bias ? s + bias[e] : s;
        }
    }
    __syncthreads();
}

// (t1, t2): the two largest of a lane's values merged with another lane's (a1 >= a2, b1 >= b2); values only.
__device__ __forceinline__ void top2Merge(float& a1, float& a2, float b1, float b2) {
    float n1 = fmaxf(a1, b1);
    float n2 = a1 >= b1 ? fmaxf(a2, b1) : fmaxf(a1, b2);
    a1 = n1;
    a2 = n2;
}

// The selected weights (top-k order) normalised when normTopk (sum in that order, + normEps) and times scaling.
__device__ __forceinline__ void normaliseAndScale(float* wsS, int K, int normTopk, float normEps, float scaling) {
    if (normTopk) {
        float sum = 0.f;
        for (int k = 0; k < K; k++) sum += wsS[k];
        float denom = sum + normEps;
        for (int k = 0; k < K; k++) wsS[k] = wsS[k] / denom;
    }
    for (int k = 0; k < K; k++) wsS[k] = wsS[k] * scaling;
}

// Group limiting, the K largest c, their weights and order (see the top of the file), by the whole block: s (scores)
// is read, c (choice) is masked and then consumed. Ends with ids[0..K) and ws[0..K) in the shared arrays idsS / wsS
// and a barrier. gsc, gok: shared scratch of RG_MAXG entries.
__device__ __forceinline__ void routerSelect(const float* s, float* c, int E, int K, int kind, int nGroup,
                                             int topkGroup, int normTopk, float normEps, float scaling, float* gsc,
                                             int* gok, int* idsS, float* wsS) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (nGroup > 1 && topkGroup < nGroup) {
        int gs = E / nGroup;
        for (int g = warp; g < nGroup; g += nw) {
            float t1 = -INFINITY, t2 = -INFINITY;
            for (int e = g * gs + lane; e < (g + 1) * gs; e += 32) top2Merge(t1, t2, c[e], -INFINITY);
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) {
                float o1 = __shfl_xor_sync(0xffffffffu, t1, o), o2 = __shfl_xor_sync(0xffffffffu, t2, o);
                top2Merge(t1, t2, o1, o2);
            }
            if (lane == 0) gsc[g] = kind == ROUTE_SOFTMAX ? t1 : t1 + t2;
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            for (int g = 0; g < nGroup; g++) gok[g] = 0;
            for (int j = 0; j < topkGroup; j++) {
                int bg = -1;
                for (int g = 0; g < nGroup; g++)
                    if (!gok[g] && (bg < 0 || gsc[g] > gsc[bg])) bg = g;
                gok[bg] = 1;
            }
        }
        __syncthreads();
        float masked = kind == ROUTE_SOFTMAX ? 0.f : -INFINITY;
        for (int e = threadIdx.x; e < E; e += blockDim.x)
            if (!gok[e / gs]) c[e] = masked;
        __syncthreads();
    }
    if (warp == 0) {
        const float taken = __int_as_float(0x7fffffff); // NaN: never > or == anything
        for (int k = 0; k < K; k++) {
            float best;
            int bi;
            warpArgmax(c, E, -INFINITY, lane, best, bi);
            if (lane == 0) {
                idsS[k] = bi;
                wsS[k] = kind == ROUTE_SOFTMAX ? best : s[bi];
                c[bi] = taken;
            }
            __syncwarp();
        }
        if (lane == 0) {
            // by weight descending, lower id first on equal weight (a no-op for ROUTE_SOFTMAX: selected in that order)
            for (int i = 1; i < K; i++) {
                int id = idsS[i];
                float w = wsS[i];
                int j = i - 1;
                for (; j >= 0 && (wsS[j] < w || (wsS[j] == w && idsS[j] > id)); j--) {
                    idsS[j + 1] = idsS[j];
                    wsS[j + 1] = wsS[j];
                }
                idsS[j + 1] = id;
                wsS[j + 1] = w;
            }
            normaliseAndScale(wsS, K, normTopk, normEps, scaling);
        }
    }
    __syncthreads();
}

// Routing replay (router_grouped_forced, kernels/replay.cuh), after routerSelect: where forcedRow[t] = r >= 0,
// counts how many of the forced ids forcedIds[(r * numMoe + moeSlot) * K ..] the free selection in idsS picked
// (into reproduced[r * numMoe + moeSlot]), then puts the forced ids in idsS, in the given order, with their scores
// s[id] (the softmax probability or the unbiased sigmoid score: RouterKind.weigh's gather) normalised and scaled as
// routerSelect does the free ones (sum in the given order, + normEps, then * scaling). Forcing the ids the free
// selection lists gives its weights bit for bit. By the whole block; ends with a barrier.
__device__ __forceinline__ void routerForce(const float* s, int t, int K, int moeSlot, int numMoe, int normTopk,
                                            float normEps, float scaling, const int* forcedRow, const int* forcedIds,
                                            int* reproduced, int* idsS, float* wsS) {
    if (threadIdx.x == 0) {
        int fr = forcedRow[t];
        if (fr >= 0) {
            const int* fid = forcedIds + ((size_t)fr * numMoe + moeSlot) * K;
            int same = 0;
            for (int a = 0; a < K; a++) {
                for (int b = 0; b < K; b++) {
                    if (idsS[a] == fid[b]) { same++; break; }
                }
            }
            reproduced[fr * numMoe + moeSlot] = same;
            for (int k = 0; k < K; k++) {
                idsS[k] = fid[k];
                wsS[k] = s[fid[k]];
            }
            normaliseAndScale(wsS, K, normTopk, normEps, scaling);
        }
    }
    __syncthreads();
}

// The kernel's body (FORCED: + routerForce); the shared arrays are the entry point's (l [ROUTER_MAXE + 1],
// c [ROUTER_MAXE], scratch [32], gsc / gok [RG_MAXG], idsS / wsS [RG_MAXK]), so router_grouped's PTX keeps its names.
template <bool FORCED>
__device__ __forceinline__ void routerGrouped(const float* xn, const bf16* Wr, const float* bias,
                                              const bf16* sharedGateW, int E, int H, int K, int kind, int nGroup,
                                              int topkGroup, int normTopk, float normEps, float scaling, int moeSlot,
                                              int numMoe, int* topIds, float* topW, float* sharedGate,
                                              int* routingOut, const int* forcedRow, const int* forcedIds,
                                              int* reproduced, float* l, float* c, float* scratch, float* gsc,
                                              int* gok, int* idsS, float* wsS) {
    int t = blockIdx.x;
    routerLogits(xn + (size_t)t * H, Wr, sharedGateW, E, H, l);
    routerScores(l, c, bias, E, kind, scratch);
    routerSelect(l, c, E, K, kind, nGroup, topkGroup, normTopk, normEps, scaling, gsc, gok, idsS, wsS);
    if (FORCED)
        routerForce(l, t, K, moeSlot, numMoe, normTopk, normEps, scaling, forcedRow, forcedIds, reproduced, idsS, wsS);
    if (threadIdx.x == 0 && sharedGateW) sharedGate[t] = 1.0f / (1.0f + expf(-l[E]));
    int* rec = routingOut ? routingOut + (size_t)t * (2 * numMoe * K) : nullptr;
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
        topIds[t * K + k] = idsS[k];
        topW[t * K + k] = wsS[k];
        if (rec) {
            rec[moeSlot * K + k] = idsS[k];
            rec[numMoe * K + moeSlot * K + k] = __float_as_int(wsS[k]);
        }
    }
}

// Declares the shared arrays routerGrouped takes, in every entry point that calls it.
#define ROUTER_GROUPED_SHARED                \
    __shared__ float l[ROUTER_MAXE + 1];     \
    __shared__ float c[ROUTER_MAXE];         \
    __shared__ float scratch[32];            \
    __shared__ float gsc[RG_MAXG];           \
    __shared__ int gok[RG_MAXG];             \
    __shared__ int idsS[RG_MAXK];            \
    __shared__ float wsS[RG_MAXK];

// One block per token (512 or 1,024 threads, as router_topk). bias: e_score_correction_bias [E] (fp32) or null;
// sharedGateW: Qwen2-MoE's shared_expert_gate row [H] or null, then sharedGate[t] = sigmoid(xn . sharedGateW).
// Writes topIds / topW [t][K] for the MoE block and, when routingOut is given, the routing record as router_topk
// does: per token [ids numMoe*K | weights numMoe*K] (int32 / fp32 words), this layer at moeSlot.
#define RG_THREADS 1024 // the most threads a launch may use (ForwardPass launches 512 or 1,024, as for router_topk)
extern "C" __global__ void __launch_bounds__(RG_THREADS)
router_grouped(const float* xn, const bf16* Wr, const float* bias, const bf16* sharedGateW, int E, int H, int K,
               int kind, int nGroup, int topkGroup, int normTopk, float normEps, float scaling, int moeSlot,
               int numMoe, int* topIds, float* topW, float* sharedGate, int* routingOut) {
    ROUTER_GROUPED_SHARED
    routerGrouped<false>(xn, Wr, bias, sharedGateW, E, H, K, kind, nGroup, topkGroup, normTopk, normEps, scaling,
                         moeSlot, numMoe, topIds, topW, sharedGate, routingOut, nullptr, nullptr, nullptr, l, c,
                         scratch, gsc, gok, idsS, wsS);
}
