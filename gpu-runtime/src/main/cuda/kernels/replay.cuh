// Routing replay and scoring (issue 18): the entry points a step launches only when one of its chunks carries
// forced routing ids or tokens to score (CudaModelRunner: SeqChunk.forcedIds / scoreTokens). Every other step
// launches exactly what it launched before: these are new entry points over the same bodies (router_topk.cuh,
// router_grouped.cuh, sampling.cuh), with the forced part compiled in only here, so the existing kernels' PTX is
// unchanged (scripts/ptx-same.sh --entries).
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
//
// Forced ids, as the host packs them: forcedRow[t] = r, the token's row of forced ids, or -1 (routed freely);
// forcedIds[r][moe layer][k] (int32); reproduced[r][moe layer] receives how many of the forced ids the free router
// would also have picked (K: the same experts).
#pragma once
#include "router_topk.cuh"
#include "router_grouped.cuh"
#include "sampling.cuh"

// router_topk with routing replay (routerTopk<true>: the forced token's ids, its probabilities gathered there,
// renormalised as the free ids are; the free selection still runs to count the reproduced ids).
extern "C" __global__ void router_topk_forced(const float* xn, const bf16* Wr, int E, int H, int K, int normTopk,
                                              int moeSlot, int numMoe, int* topIds, float* topW, int* routingOut,
                                              const int* forcedRow, const int* forcedIds, int* reproduced) {
    __shared__ float probs[ROUTER_MAXE];
    __shared__ float scratch[32];
    routerTopk<true>(xn, Wr, E, H, K, normTopk, moeSlot, numMoe, topIds, topW, routingOut, forcedRow, forcedIds,
                     reproduced, probs, scratch);
}

// router_grouped with routing replay (routerForce after the free selection).
extern "C" __global__ void __launch_bounds__(RG_THREADS)
router_grouped_forced(const float* xn, const bf16* Wr, const float* bias, const bf16* sharedGateW, int E, int H,
                      int K, int kind, int nGroup, int topkGroup, int normTopk, float normEps, float scaling,
                      int moeSlot, int numMoe, int* topIds, float* topW, float* sharedGate, int* routingOut,
                      const int* forcedRow, const int* forcedIds, int* reproduced) {
    ROUTER_GROUPED_SHARED
    routerGrouped<true>(xn, Wr, bias, sharedGateW, E, H, K, kind, nGroup, topkGroup, normTopk, normEps, scaling,
                        moeSlot, numMoe, topIds, topW, sharedGate, routingOut, forcedRow, forcedIds, reproduced, l, c,
                        scratch, gsc, gok, idsS, wsS);
}

// Scoring, one block of SAMPLE_THREADS per scored row r of logits [rows][V]: outLogp[r] = log-softmax of the row at
// targets[r], with sample_tokens's normaliser (ROW_LOG_SOFTMAX_NORM) and its expression, so the value equals the
// logprob sample_tokens reports when it samples that token from the same row, bit for bit.
extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS)
score_tokens(const float* logits, int V, const int* targets, float* outLogp) {
    __shared__ float scratch[32];
    __shared__ int iscratch[32];
    int r = blockIdx.x;
    const float* l = logits + (size_t)r * V;
    ROW_LOG_SOFTMAX_NORM
    (void)bi;
    if (threadIdx.x == 0) {
        int tok = targets[r];
        outLogp[r] = l[tok] - m - logf(z);
    }
}
