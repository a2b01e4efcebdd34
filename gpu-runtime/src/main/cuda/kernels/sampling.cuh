// Token sampling (greedy, temperature / top-k / top-p) with the CPU sampler's rule.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "block_reduce.cuh"
#include "random_weights.cuh"

// ---------------------------------------------------------------------------------------------------------------
// Sampling, one block (1024 threads) per sampled row. Greedy (temperature 0): argmax, ties to the lower id.
// Otherwise the CPU sampler's rule (sampler.Sampler): probabilities exp(l/T - max/T) in double, keep the top_k
// largest (top_k > 0), then the smallest prefix (by logit, descending) whose mass reaches top_p, and pick, walking
// the kept tokens from the most probable down, the first whose cumulative mass exceeds u * kept mass, with
// u = SeededUniform.draw(seed, sampleIndex) (same SplitMix64 formula). The sorted walks are bisections on the
// logit's ordered bit pattern (32 block-wide passes each, no sort); masses are summed in double so the chosen
// token matches the CPU's even when 150k near-equal probabilities are summed. logprob = log-softmax of the raw
// logits at the chosen token. params per row: temperature, topP (float bits), topK, seedLo, seedHi, sampleIndex.
// ---------------------------------------------------------------------------------------------------------------
__device__ __forceinline__ uint32_t orderedKey(float f) {
    uint32_t b = __float_as_uint(f);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

__device__ double blockSumD(double v, double* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    double s = 0.0;
    for (int w = 0; w < nw; w++) s += scratch[w];
    return s;
}

// mass of the tokens whose logit key is >= thr
__device__ double massAbove(const float* l, int V, uint32_t thr, double invT, double maxS, double* scratch) {
    double c = 0.0;
    for (int i = threadIdx.x; i < V; i += blockDim.x)
        if (orderedKey(l[i]) >= thr) c += exp((double)l[i] * invT - maxS);
    return blockSumD(c, scratch);
}

#define SAMPLE_THREADS 1024
// The log-softmax normaliser of the row l of V logits, by a block of SAMPLE_THREADS threads, declared in the caller's
// scope: m = the largest logit, bi = its lowest id, z = sum of exp(l - m) (thread i over i, i + SAMPLE_THREADS, ...,
// then blockSum); a token's logprob is l[tok] - m - logf(z). sample_tokens and score_tokens (kernels/replay.cuh)
// both expand it, so a scored token's logprob is the one reported when that token is sampled from the same row, bit
// for bit. It reads l, V, scratch [32 floats] and iscratch [32 ints] from the caller's scope. A macro rather than a
// function: sample_tokens's PTX stays what it was (an inlined function reorders its instructions).
#define ROW_LOG_SOFTMAX_NORM \
    float best = -INFINITY;                                                                                             \
    int bi = 0x7fffffff;                                                                                                \
    for (int i = threadIdx.x; i < V; i += SAMPLE_THREADS) {                                                             \
        float v = l[i];                                                                                                 \
        if (v > best) { best = v; bi = i; }                                                                             \
    }                                                                                                                   \
    {                                                                                                                   \
        int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;                                                           \
        _Pragma("unroll")                                                                                               \
        for (int o = 16; o > 0; o >>= 1) {                                                                              \
            float ob = __shfl_xor_sync(0xffffffffu, best, o);                                                           \
            int oi = __shfl_xor_sync(0xffffffffu, bi, o);                                                               \
            if (ob > best || (ob == best && oi < bi)) { best = ob; bi = oi; }                                           \
        }                                                                                                               \
        if (lane == 0) { scratch[warp] = best; iscratch[warp] = bi; }                                                   \
        __syncthreads();                                                                                                \
        best = scratch[0];                                                                                              \
        bi = iscratch[0];                                                                                               \
        for (int w = 1; w < SAMPLE_THREADS / 32; w++) {                                                                 \
            if (scratch[w] > best || (scratch[w] == best && iscratch[w] < bi)) { best = scratch[w]; bi = iscratch[w]; } \
        }                                                                                                               \
        __syncthreads();                                                                                                \
    }                                                                                                                   \
    float m = best;                                                                                                     \
    float z = 0.f;                                                                                                      \
    for (int i = threadIdx.x; i < V; i += SAMPLE_THREADS) z += expf(l[i] - m);                                          \
    z = blockSum(z, scratch);

extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS)
sample_tokens(const float* logits, int V, const int* params, int* outTok, float* outLogp) {
    __shared__ float scratch[32];
    __shared__ int iscratch[32];
    __shared__ double dscratch[32];
    int r = blockIdx.x;
    const float* l = logits + (size_t)r * V;
    const int* p = params + r * 6;
    float temp = __int_as_float(p[0]);
    float topP = __int_as_float(p[1]);
    int topK = p[2];
    uint64_t seed = ((uint64_t)(uint32_t)p[4] << 32) | (uint32_t)p[3];
    int sampleIndex = p[5];

    // max, argmax (lowest id among equals); m, z
    ROW_LOG_SOFTMAX_NORM
    int tok = bi;
    if (temp > 0.f) {
        double invT = 1.0 / (double)temp;
        double maxS = (double)m * invT;
        // top-k: the largest key with count(key >= thr) >= topK
        uint32_t thrK = 0;
        if (topK > 0 && topK < V) {
            for (int bit = 31; bit >= 0; bit--) {
                uint32_t cand = thrK | (1u << bit);
                float c = 0.f;
                for (int i = threadIdx.x; i < V; i += SAMPLE_THREADS) c += orderedKey(l[i]) >= cand ? 1.f : 0.f;
                c = blockSum(c, scratch);
                if (c >= (float)topK) thrK = cand;
            }
        }
        double kept = massAbove(l, V, thrK, invT, maxS, dscratch);
        uint32_t thrP = thrK;
        if (topP < 1.f) {
            // the largest threshold whose mass still reaches topP of the top-k mass
            double need = (double)topP * kept;
            uint32_t lo = 0;
            for (int bit = 31; bit >= 0; bit--) {
                uint32_t cand = lo | (1u << bit);
                if (massAbove(l, V, max(cand, thrK), invT, maxS, dscratch) >= need) lo = cand;
            }
            thrP = max(lo, thrK);
            kept = massAbove(l, V, thrP, invT, maxS, dscratch);
        }
        uint64_t bits = splitMix64(seed ^ splitMix64((uint64_t)(int64_t)sampleIndex));
        double u = (double)(bits >> 11) * (1.0 / 9007199254740992.0);
        double target = u * kept;
        uint32_t sel = 0;
        for (int bit = 31; bit >= 0; bit--) {
            uint32_t cand = sel | (1u << bit);
            if (massAbove(l, V, max(cand, thrP), invT, maxS, dscratch) > target) sel = cand;
        }
        sel = max(sel, thrP);
        // the token whose key is sel (lowest id among equals)
        int found = 0x7fffffff;
        for (int i = threadIdx.x; i < V; i += SAMPLE_THREADS)
            if (orderedKey(l[i]) == sel && i < found) found = i;
        found = -(int)blockMax(-(float)found, scratch);
        tok = found < V ? found : bi;
    }
    if (threadIdx.x == 0) {
        outTok[r] = tok;
        outLogp[r] = l[tok] - m - logf(z);
    }
}
