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
// logit's ordered bit pattern (no sort): top-k one bit per block-wide pass (32 passes, counts), top-p and the draw
// four bits per pass (8 passes, massesAbove16: the bits and the masses those of the one-bit-per-pass bisection,
// bit for bit); masses are summed in double so the chosen token matches the CPU's even when 150k near-equal
// probabilities are summed. logprob = log-softmax of the raw
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

// One pass of a four-bit bisection step: out[j-1] (j = 1..15) = massAbove(max(pre | j << lo, floor)) exactly, bit
// for bit. pre has no bits at or below lo + 3; the thresholds pre | j << lo = pre + (j << lo) grow with j, so a token
// counts toward thresholds 1..J, J = min(15, (key - pre) >> lo) when key >= pre and key >= floor, else none. Each
// threshold's sum is massAbove's: the same per-thread element order (thread t over t, t + blockDim.x, ...), the same
// exp expression, the same butterfly in each warp and the warps added in index order from 0.0 (blockSumD) — a token
// that does not count is skipped, as there. One exp per token instead of one per bit. scr: 32 × 16 doubles,
// out: 16 doubles (shared); every thread may read out[0..14] on return.
__device__ void massesAbove16(const float* l, int V, uint32_t pre, int lo, uint32_t floor, double invT, double maxS,
                              double* scr, double* out) {
    double c[15];
#pragma unroll
    for (int j = 0; j < 15; j++) c[j] = 0.0;
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
        uint32_t key = orderedKey(l[i]);
        if (key >= pre && key >= floor) {
            int J = (int)min((key - pre) >> lo, 15u);
            if (J > 0) {
                double e = exp((double)l[i] * invT - maxS);
#pragma unroll
                for (int j = 0; j < 15; j++)
                    if (j < J) c[j] += e;
            }
        }
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
#pragma unroll
    for (int j = 0; j < 15; j++) {
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) c[j] += __shfl_xor_sync(0xffffffffu, c[j], o);
    }
    __syncthreads();
    if (lane == 0) {
#pragma unroll
        for (int j = 0; j < 15; j++) scr[warp * 16 + j] = c[j];
    }
    __syncthreads();
    if (threadIdx.x < 15) {
        double s = 0.0;
        for (int w = 0; w < nw; w++) s += scr[w * 16 + threadIdx.x];
        out[threadIdx.x] = s;
    }
    __syncthreads();
}

// The 32-bit greedy bisection "for bit 31..0: cand = x | 1 << bit; if (mass(max(cand, floor)) passes) x = cand",
// mass = massAbove, passes = (mass > bound) when strict, else (mass >= bound): four bits per massesAbove16 pass,
// the four greedy steps of a group replayed on its 15 masses, so x is the one-bit bisection's, bit for bit.
__device__ uint32_t bisectMass4(const float* l, int V, uint32_t floor, double bound, bool strict, double invT,
                                double maxS, double* scr, double* out) {
    uint32_t x = 0;
    for (int lo = 28; lo >= 0; lo -= 4) {
        massesAbove16(l, V, x, lo, floor, invT, maxS, scr, out);
        uint32_t j = 0;
        for (int b = 3; b >= 0; b--) {
            uint32_t cj = j | (1u << b);
            double m = out[cj - 1];
            if (strict ? m > bound : m >= bound) j = cj;
        }
        x |= j << lo;
    }
    return x;
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
    __shared__ double mscratch[32 * 16];
    __shared__ double mout[16];
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
            uint32_t lo = bisectMass4(l, V, thrK, need, false, invT, maxS, mscratch, mout);
            thrP = max(lo, thrK);
            kept = massAbove(l, V, thrP, invT, maxS, dscratch);
        }
        uint64_t bits = splitMix64(seed ^ splitMix64((uint64_t)(int64_t)sampleIndex));
        double u = (double)(bits >> 11) * (1.0 / 9007199254740992.0);
        double target = u * kept;
        uint32_t sel = bisectMass4(l, V, thrP, target, true, invT, maxS, mscratch, mout);
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
