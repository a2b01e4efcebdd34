// Softmax top-k router (Qwen3-MoE / OLMoE / Mixtral style), writing the routing record.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "block_reduce.cuh"
#include "bf16_split.cuh"

// ---------------------------------------------------------------------------------------------------------------
// Router: logits = xn . Wr^T (fp32 FMA, fixed order), softmax, top-k (ties: lower expert id), optional
// renormalisation. Writes the layer's ids/weights for the MoE block and, in the same kernel, the routing record
// into the step's output buffer: per token [ids numMoe*K | weights numMoe*K] (int32 / fp32 words).
// One block per token (ForwardPass launches 512 or 1,024 threads; with E <= 512 each thread holds at most one logit,
// so the block sums are the same). Each warp computes four experts' dot products at a time (independent loads in
// flight), each in the same fixed order.
// ---------------------------------------------------------------------------------------------------------------
#define ROUTER_MAXE 1024
// The kernel's body; FORCED adds routing replay (router_topk_forced, kernels/replay.cuh): a token with
// forcedRow[t] = r >= 0 takes its K ids from forcedIds[(r * numMoe + moeSlot) * K ..] (in the given order), weighs
// them with the softmax probabilities gathered there, renormalised like the free ids (RouterKind.weigh: the sum in
// the given order), and still runs the free selection to write how many of the forced ids it would have picked
// into reproduced[r * numMoe + moeSlot]. probs [ROUTER_MAXE] and scratch [32]: the entry's shared
// arrays. Forcing the ids the free selection picks gives its weights bit for bit.
// s += the 8 bf16 weights of W (a uint4) times the 8 activations a.x .. b.w, in k order (every router path's order)
#define ROUTER_FMA8(S, W, A, B)                                                                                 \
    do {                                                                                                        \
        float w_[8];                                                                                            \
        bf16x8ToFloat(W, w_);                                                                                   \
        ROUTER_FMA8F(S, w_, A, B);                                                                              \
    } while (0)
// the same with the 8 weights already converted (WF: float[8]; router_tiles.cuh converts once for several tokens)
#define ROUTER_FMA8F(S, WF, A, B)                                                                               \
    do {                                                                                                        \
        S = fmaf((WF)[0], (A).x, S); S = fmaf((WF)[1], (A).y, S); S = fmaf((WF)[2], (A).z, S);                  \
        S = fmaf((WF)[3], (A).w, S); S = fmaf((WF)[4], (B).x, S); S = fmaf((WF)[5], (B).y, S);                  \
        S = fmaf((WF)[6], (B).z, S); S = fmaf((WF)[7], (B).w, S);                                               \
    } while (0)
// The logits of experts EB .. EE - 1 into OUT[e] (needs lane, warp, nw, Wr, E, H in scope): each warp EPW experts
// per pass (e0, e0 + nw, ...: loads in flight), each expert's dot product in the one fixed order (lane strides of 8,
// fmaf in k order, warpSum), so a logit's bits do not depend on which block, warp or pass computes it
// (router_topk_norm_parts splits the experts over blocks). KLOOP: the pass's walk over k, adding into s[EPW] from
// the rows wr[EPW] (ROUTER_KLOOP here; router_norm.cuh's ROUTER_KLOOP_PREFETCH issues its loads first). Macros,
// not functions: routerTopk's instructions stay in their order (an inlined function reordered them;
// scripts/ptx-same.sh --entries), as sampling.cuh's macro.
#define ROUTER_PASSES(EB, EE, OUT, KLOOP)                                                                       \
    do {                                                                                                        \
        constexpr int EPW = 4; /* experts per warp and pass */                                                  \
        for (int e0 = (EB) + warp; e0 < (EE); e0 += EPW * nw) {                                                 \
            float s[EPW];                                                                                       \
            const bf16* wr[EPW];                                                                                \
            _Pragma("unroll") for (int i = 0; i < EPW; i++) {                                                   \
                s[i] = 0.f;                                                                                     \
                wr[i] = Wr + (size_t)min(e0 + i * nw, E - 1) * H;                                               \
            }                                                                                                   \
            KLOOP;                                                                                              \
            _Pragma("unroll") for (int i = 0; i < EPW; i++) {                                                   \
                float v = warpSum(s[i]);                                                                        \
                if (lane == 0 && e0 + i * nw < (EE)) (OUT)[e0 + i * nw] = v;                                    \
            }                                                                                                   \
        }                                                                                                       \
    } while (0)
// one 16-byte weight load per expert at a time, the FMAs right after it
#define ROUTER_KLOOP(XR)                                                                                        \
    for (int k = lane * 8; k < H; k += 256) {                                                                   \
        float4 a = *reinterpret_cast<const float4*>((XR) + k);                                                  \
        float4 b = *reinterpret_cast<const float4*>((XR) + k + 4);                                              \
        _Pragma("unroll") for (int i = 0; i < EPW; i++)                                                         \
            ROUTER_FMA8(s[i], *reinterpret_cast<const uint4*>(wr[i] + k), a, b);                                \
    }
#define ROUTER_LOGITS(XR, EB, EE, OUT) ROUTER_PASSES(EB, EE, OUT, ROUTER_KLOOP(XR))

// The top-k of token t's probabilities (probs[E], consumed: picks are marked -2), by ONE warp (lane): K rounds of
// the strided argmax and butterfly (ties: the lower expert id), the forced ids where forcedRow[t] >= 0, the
// renormalisation, then lane 0 writes topIds / topW and the routing record. routerTopk runs it in warp 0;
// router_tiles.cuh in warp w for its block's token w.
template <bool FORCED>
__device__ __forceinline__ void routerSelect(int t, float* probs, int E, int K, int normTopk, int moeSlot, int numMoe,
                                             int* topIds, float* topW, int* routingOut, const int* forcedRow,
                                             const int* forcedIds, int* reproduced, int lane) {
    int ids[32];
    float ws[32];
    int fr = -1;
    const int* fid = nullptr;
    float fw[FORCED ? 32 : 1];
    if (FORCED) {
        fr = forcedRow[t];
        if (fr >= 0) {
            fid = forcedIds + ((size_t)fr * numMoe + moeSlot) * K;
            // gathered before the free selection below marks its picks in probs
            if (lane == 0)
                for (int k = 0; k < K; k++) fw[k] = probs[fid[k]];
        }
    }
    for (int k = 0; k < K; k++) {
        float best;
        int bi;
        warpArgmax(probs, E, -1.f, lane, best, bi);
        ids[k] = bi;
        ws[k] = best;
        __syncwarp();
        if (lane == 0) probs[bi] = -2.f;
        __syncwarp();
    }
    if (lane == 0) {
        if (FORCED && fr >= 0) {
            int same = 0;
            for (int a = 0; a < K; a++) {
                for (int b = 0; b < K; b++) {
                    if (ids[a] == fid[b]) { same++; break; }
                }
            }
            reproduced[fr * numMoe + moeSlot] = same;
            for (int k = 0; k < K; k++) {
                ids[k] = fid[k];
                ws[k] = fw[k];
            }
        }
        if (normTopk) {
            float s = 0.f;
            for (int k = 0; k < K; k++) s += ws[k];
            for (int k = 0; k < K; k++) ws[k] = ws[k] / s;
        }
        int* rec = routingOut ? routingOut + (size_t)t * (2 * numMoe * K) : nullptr;
        for (int k = 0; k < K; k++) {
            topIds[t * K + k] = ids[k];
            topW[t * K + k] = ws[k];
            if (rec) {
                rec[moeSlot * K + k] = ids[k];
                rec[numMoe * K + moeSlot * K + k] = __float_as_int(ws[k]);
            }
        }
    }
}

// ROW (router_topk_norm, kernels/router_norm.cuh): xn is the token's normed row itself (in shared memory), not the
// matrix of all rows. PRESET (router_topk_norm_parts): probs already holds the E logits; only the softmax, top-k and
// record run.
template <bool FORCED, bool ROW = false, bool PRESET = false>
__device__ __forceinline__ void routerTopk(const float* xn, const bf16* Wr, int E, int H, int K, int normTopk,
                                           int moeSlot, int numMoe, int* topIds, float* topW, int* routingOut,
                                           const int* forcedRow, const int* forcedIds, int* reproduced,
                                           float* probs, float* scratch) {
    int t = blockIdx.x;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    const float* xr = ROW ? xn : xn + (size_t)t * H;
    if (!PRESET) ROUTER_LOGITS(xr, 0, E, probs);
    __syncthreads();
    float m = -INFINITY;
    for (int e = threadIdx.x; e < E; e += blockDim.x) m = fmaxf(m, probs[e]);
    m = blockMax(m, scratch);
    float z = 0.f;
    for (int e = threadIdx.x; e < E; e += blockDim.x) z += expf(probs[e] - m);
    z = blockSum(z, scratch);
    __syncthreads();
    for (int e = threadIdx.x; e < E; e += blockDim.x) probs[e] = expf(probs[e] - m) / z;
    __syncthreads();
    if (warp == 0)
        routerSelect<FORCED>(t, probs, E, K, normTopk, moeSlot, numMoe, topIds, topW, routingOut, forcedRow,
                             forcedIds, reproduced, lane);
}

extern "C" __global__ void router_topk(const float* xn, const bf16* Wr, int E, int H, int K, int normTopk,
                                       int moeSlot, int numMoe, int* topIds, float* topW, int* routingOut) {
    // shared arrays declared by each entry point (their PTX names are the entry's: router_topk's are unchanged)
    __shared__ float probs[ROUTER_MAXE];
    __shared__ float scratch[32];
    routerTopk<false>(xn, Wr, E, H, K, normTopk, moeSlot, numMoe, topIds, topW, routingOut, nullptr, nullptr,
                      nullptr, probs, scratch);
}
