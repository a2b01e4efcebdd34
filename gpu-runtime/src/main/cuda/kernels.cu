// Kernels of the CUDA backend (routing-replay). Compiled to PTX (compute_90) by compile-ptx.sh and loaded through
// JCuda's driver API (cuModuleLoadData), so every entry point is extern "C".
//
// Numerics: weights bf16, activations and accumulation fp32. The large matrix products run on the tensor cores with
// the fp32 activation split into two bf16 halves (hi + lo): the weights are exactly bf16, so W*hi + W*lo keeps about
// 16 mantissa bits of the activation — close to fp32, far inside the 1e-3 logprob tolerance. The split is done once,
// by the kernel that produces the activation ("split rows", storeSplit), not by every GEMM block that reads it.
// Batch invariance: every output element is a reduction whose order depends only on K (never on how many tokens
// share the launch or which tile a token lands in), so a request gets bit-identical results alone or in any batch.
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>

typedef __nv_bfloat16 bf16;
typedef __nv_fp8_storage_t fp8; // e4m3fn bits (KvCacheDtype.FP8): round to nearest even, saturating at +-448

// ---------------------------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------------------------
__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the block in a fixed order (lanes butterfly, then warps in index order). Needs blockDim % 32 == 0,
// scratch of 32 floats; every thread gets the result.
__device__ float blockSum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warpSum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float s = 0.f;
    for (int w = 0; w < nw; w++) s += scratch[w];
    return s;
}

__device__ float blockMax(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warpMax(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float s = -INFINITY;
    for (int w = 0; w < nw; w++) s = fmaxf(s, scratch[w]);
    return s;
}

__device__ __forceinline__ void bf16x8ToFloat(uint4 u, float* f) {
    const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        f[2 * i] = __uint_as_float(w[i] << 16);
        f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    }
}

__device__ __forceinline__ uint32_t packBf16(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
}

// The GEMMs' activation layout ("split rows"): each fp32 activation x as bf16 hi = bf16(x) and lo = bf16(x - hi)
// (the tensor-core products multiply both: ~16 mantissa bits of x), written once by the producer — RMSNorm, the
// attention merge, the SwiGLU epilogue — instead of re-split by every GEMM block that loads it. Element k of a row
// lives in the row's 8-element group k / 8: hi at bf16 index 16 (k / 8) + k % 8, lo 8 further. A split row takes
// the bytes its fp32 values would, and a lane's 32 bytes at float offset k .. k + 8 are exactly the mma's hi and lo
// fragments for physical k .. k + 7 (laneHiLo).
__device__ __forceinline__ void storeSplit(float* row, int k, float v) {
    bf16* b = reinterpret_cast<bf16*>(row) + 16 * (k >> 3) + (k & 7);
    bf16 h = __float2bfloat16_rn(v);
    b[0] = h;
    b[8] = __float2bfloat16_rn(v - __bfloat162float(h));
}

// K/V cache elements: fp32 (exact, the default), bf16 or fp8 e4m3 (half / a quarter of the bytes). A value is
// rounded once, when it is written; every reader converts the stored value back to fp32 exactly.
__device__ __forceinline__ void kvLoad4(const float* p, float* o) {
    float4 v = *reinterpret_cast<const float4*>(p);
    o[0] = v.x; o[1] = v.y; o[2] = v.z; o[3] = v.w;
}
__device__ __forceinline__ void kvLoad4(const bf16* p, float* o) {
    uint2 u = *reinterpret_cast<const uint2*>(p);
    o[0] = __uint_as_float(u.x << 16); o[1] = __uint_as_float(u.x & 0xffff0000u);
    o[2] = __uint_as_float(u.y << 16); o[3] = __uint_as_float(u.y & 0xffff0000u);
}
__device__ __forceinline__ float fp8ToFloat(fp8 b) {
    return __half2float(__half(__nv_cvt_fp8_to_halfraw(b, __NV_E4M3))); // every e4m3 value is exact in fp16
}
__device__ __forceinline__ void kvLoad4(const fp8* p, float* o) {
    uint32_t u = *reinterpret_cast<const uint32_t*>(p);
#pragma unroll
    for (int i = 0; i < 4; i++) o[i] = fp8ToFloat((fp8)(u >> (8 * i)));
}
__device__ __forceinline__ float kvLoad(const float* p) { return *p; }
__device__ __forceinline__ float kvLoad(const bf16* p) { return __bfloat162float(*p); }
__device__ __forceinline__ float kvLoad(const fp8* p) { return fp8ToFloat(*p); }
__device__ __forceinline__ void kvStore(float* p, float v) { *p = v; }
__device__ __forceinline__ void kvStore(bf16* p, float v) { *p = __float2bfloat16_rn(v); }
__device__ __forceinline__ void kvStore(fp8* p, float v) { *p = __nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3); }
// 16 bytes of a staged K/V piece (16 / sizeof(T) elements) as fp32
__device__ __forceinline__ void kvPiece(const float* p, float* o) { kvLoad4(p, o); }
__device__ __forceinline__ void kvPiece(const bf16* p, float* o) { bf16x8ToFloat(*reinterpret_cast<const uint4*>(p), o); }
__device__ __forceinline__ void kvPiece(const fp8* p, float* o) {
#pragma unroll
    for (int i = 0; i < 16; i += 4) kvLoad4(p + i, o + i);
}

// ---------------------------------------------------------------------------------------------------------------
// synthetic weights: uniform in [-scale, scale) (+ offset) from a counter hash, generated on the device
// ---------------------------------------------------------------------------------------------------------------
__device__ __forceinline__ uint64_t splitMix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

extern "C" __global__ void fill_random_bf16(bf16* out, long long n, unsigned long long seed, float scale, float offset) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        uint64_t r = splitMix64(seed ^ splitMix64((uint64_t)i));
        float u = (float)(r >> 40) * (1.0f / 16777216.0f); // [0,1)
        out[i] = __float2bfloat16_rn(offset + scale * (2.f * u - 1.f));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// embedding: x[t] = emb[tokens[t]] (bf16 -> fp32, exact)
// ---------------------------------------------------------------------------------------------------------------
extern "C" __global__ void embed(const int* tokens, const bf16* emb, float* x, int H) {
    int t = blockIdx.x;
    const bf16* row = emb + (size_t)tokens[t] * H;
    float* xr = x + (size_t)t * H;
    if ((H & 3) == 0) {
        for (int i = 4 * threadIdx.x; i < H; i += 4 * blockDim.x) {
            float f[4];
            kvLoad4(row + i, f);
            *reinterpret_cast<float4*>(xr + i) = make_float4(f[0], f[1], f[2], f[3]);
        }
    } else {
        for (int i = threadIdx.x; i < H; i += blockDim.x) xr[i] = __bfloat162float(row[i]);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// RMSNorm of row rowIdx[r] (or r) into out[r] (fp32, when out is given) and/or outSplit[r] (split row, for a GEMM):
// x / sqrt(mean(x^2) + eps) * w, as torch computes it in fp32.
// Thread tid sums squares over i = tid, tid + blockDim, ... (the fixed order), then blockSum. Rows of up to
// RMS_CACHE * blockDim elements stay in registers for the output pass, with the weights loaded before the sum.
// ---------------------------------------------------------------------------------------------------------------
#define RMS_CACHE 8
extern "C" __global__ void rmsnorm(const float* x, const int* rowIdx, const bf16* w, float* out, float* outSplit,
                                   int H, float eps) {
    __shared__ float scratch[32];
    int r = blockIdx.x, tid = threadIdx.x, nt = blockDim.x;
    int src = rowIdx ? rowIdx[r] : r;
    const float* xr = x + (size_t)src * H;
    float* o = out ? out + (size_t)r * H : nullptr;
    float* os = outSplit ? outSplit + (size_t)r * H : nullptr;
    auto put = [&](int i, float v) {
        if (o) o[i] = v;
        if (os) storeSplit(os, i, v);
    };
    float ss = 0.f;
    if (H <= RMS_CACHE * nt) {
        float v[RMS_CACHE], wv[RMS_CACHE];
#pragma unroll
        for (int j = 0; j < RMS_CACHE; j++) {
            int i = tid + j * nt;
            v[j] = i < H ? xr[i] : 0.f;
            wv[j] = i < H ? __bfloat162float(w[i]) : 0.f;
        }
#pragma unroll
        for (int j = 0; j < RMS_CACHE; j++)
            if (tid + j * nt < H) ss += v[j] * v[j];
        ss = blockSum(ss, scratch);
        float inv = 1.0f / sqrtf(ss / (float)H + eps);
#pragma unroll
        for (int j = 0; j < RMS_CACHE; j++)
            if (tid + j * nt < H) put(tid + j * nt, wv[j] * (v[j] * inv));
        return;
    }
    for (int i = tid; i < H; i += nt) ss += xr[i] * xr[i];
    ss = blockSum(ss, scratch);
    float inv = 1.0f / sqrtf(ss / (float)H + eps);
    for (int i = tid; i < H; i += nt) put(i, __bfloat162float(w[i]) * (xr[i] * inv));
}

// ---------------------------------------------------------------------------------------------------------------
// q/k norm (none, per head, or full width) + RoPE (rotate-half, HF convention) + K/V write into the paged cache.
// qkv row: [q (nH*D) | k (nKV*D) | v (nKV*D)]; q goes to qOut, k/v to cache slot slots[t] (cache layout
// [slot][kvHead][D]). qkMode: 0 none, 1 per head (weight [D]), 2 full width (weights [nH*D], [nKV*D]).
// D <= QKR_MAXD. Grid (tokens, ceil((nH + 2 nKV) / 8)), QKR_THREADS threads: each warp takes one head span (q, k or v) through
// shared memory; the block computes the token's cos/sin table once. Every element gets the arithmetic of the
// one-block-per-token, 128-thread kernel this replaced: per-head sums over i = lane, lane + 32, ... then warpSum;
// full-width sums as that 128-thread block formed them (fullWidthSum).
// ---------------------------------------------------------------------------------------------------------------
#define QKR_THREADS 256
#define QKR_MAXD 256
#define QKR_SUM_THREADS 128

__device__ __forceinline__ void kvStore4(float* p, const float* v) { // v: 16-byte aligned
    *reinterpret_cast<float4*>(p) = *reinterpret_cast<const float4*>(v);
}
__device__ __forceinline__ void kvStore4(bf16* p, const float* v) {
    *reinterpret_cast<uint2*>(p) = make_uint2(packBf16(v[0], v[1]), packBf16(v[2], v[3]));
}
__device__ __forceinline__ void kvStore4(fp8* p, const float* v) {
    uint32_t u = 0;
#pragma unroll
    for (int i = 0; i < 4; i++) u |= (uint32_t)__nv_cvt_float_to_fp8(v[i], __NV_SATFINITE, __NV_E4M3) << (8 * i);
    *reinterpret_cast<uint32_t*>(p) = u;
}

// d[0..D) = s[0..D) by one warp (fp32 or bf16 destination), 16 source bytes per lane when vec (D % 4 == 0)
template <typename T>
__device__ __forceinline__ void copySpan(T* d, const float* s, int D, bool vec) {
    int lane = threadIdx.x & 31;
    if (vec) {
        for (int i = 4 * lane; i < D; i += 128) kvStore4(d + i, s + i);
    } else {
        for (int i = lane; i < D; i += 32) kvStore(d + i, s[i]);
    }
}

// sum of v[i]^2 over n elements: QKR_SUM_THREADS strided partials, warpSum each, warps added in order (= blockSum
// at QKR_SUM_THREADS threads). Called by threads 0..QKR_SUM_THREADS-1; lane 0 of each warp writes part[warp].
__device__ __forceinline__ void fullWidthSum(const float* v, int n, float* part) {
    float ss = 0.f;
    for (int i = threadIdx.x; i < n; i += QKR_SUM_THREADS) ss += v[i] * v[i];
    ss = warpSum(ss);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = ss;
}

template <typename KVT>
__device__ __forceinline__ void qkNormRopeKv(const float* qkv, const int* positions, const int* slots,
                                             const bf16* qNorm, const bf16* kNorm, int qkMode, float eps,
                                             const float* invFreq, float* qOut, KVT* kCache, KVT* vCache, int nH,
                                             int nKV, int D) {
    __shared__ float cosS[QKR_MAXD / 2], sinS[QKR_MAXD / 2];
    __shared__ __align__(16) float spanS[QKR_THREADS / 32][QKR_MAXD];
    __shared__ float partS[2][QKR_SUM_THREADS / 32];
    int t = blockIdx.x, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int qDim = nH * D, kvDim = nKV * D, half = D / 2;
    const float* row = qkv + (size_t)t * (qDim + 2 * kvDim);
    float pos = (float)positions[t];
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float ang = pos * invFreq[i];
        float c = cosf(ang), s = sinf(ang);
        cosS[i] = c;
        sinS[i] = s;
    }
    if (qkMode == 2 && threadIdx.x < QKR_SUM_THREADS) {
        fullWidthSum(row, qDim, partS[0]);
        fullWidthSum(row + qDim, kvDim, partS[1]);
    }
    __syncthreads();
    int task = blockIdx.y * (blockDim.x >> 5) + warp; // q heads, then k heads, then v heads
    if (task >= nH + 2 * nKV) return;
    const float* src = row + (size_t)task * D;
    float* s = spanS[warp];
    bool vec = (D & 3) == 0;
    copySpan(s, src, D, vec);
    __syncwarp();
    size_t slot = (size_t)slots[t];
    bool isQ = task < nH;
    int hh = isQ ? task : task < nH + nKV ? task - nH : task - nH - nKV;
    if (task < nH + nKV) {
        if (qkMode == 1) {
            float ss = 0.f;
            for (int i = lane; i < D; i += 32) ss += s[i] * s[i];
            ss = warpSum(ss);
            float inv = 1.0f / sqrtf(ss / (float)D + eps);
            const bf16* w = isQ ? qNorm : kNorm;
            for (int i = lane; i < D; i += 32) s[i] = __bfloat162float(w[i]) * (s[i] * inv);
        } else if (qkMode == 2) {
            const float* part = partS[isQ ? 0 : 1];
            float ss = 0.f;
            for (int w = 0; w < QKR_SUM_THREADS / 32; w++) ss += part[w];
            float inv = 1.0f / sqrtf(ss / (float)(isQ ? qDim : kvDim) + eps);
            const bf16* w = (isQ ? qNorm : kNorm) + (size_t)hh * D;
            for (int i = lane; i < D; i += 32) s[i] = __bfloat162float(w[i]) * (s[i] * inv);
        }
        // RoPE in place: this lane owns the pairs (i, i + half) it writes
        for (int i = lane; i < half; i += 32) {
            float a = s[i], b = s[i + half], c = cosS[i], sn = sinS[i];
            s[i] = __fadd_rn(__fmul_rn(a, c), __fmul_rn(-b, sn));
            s[i + half] = __fadd_rn(__fmul_rn(b, c), __fmul_rn(a, sn));
        }
        __syncwarp();
    }
    if (isQ) copySpan(qOut + (size_t)t * qDim + (size_t)hh * D, s, D, vec);
    else copySpan((task < nH + nKV ? kCache : vCache) + (slot * nKV + hh) * D, s, D, vec);
}

#define QK_ARGS const float* qkv, const int* positions, const int* slots, const bf16* qNorm, const bf16* kNorm, \
    int qkMode, float eps, const float* invFreq, float* qOut
extern "C" __global__ void __launch_bounds__(QKR_THREADS)
qk_norm_rope_kv(QK_ARGS, float* kCache, float* vCache, int nH, int nKV, int D) {
    qkNormRopeKv<float>(qkv, positions, slots, qNorm, kNorm, qkMode, eps, invFreq, qOut, kCache, vCache, nH, nKV, D);
}
extern "C" __global__ void __launch_bounds__(QKR_THREADS)
qk_norm_rope_kv_bf16(QK_ARGS, bf16* kCache, bf16* vCache, int nH, int nKV, int D) {
    qkNormRopeKv<bf16>(qkv, positions, slots, qNorm, kNorm, qkMode, eps, invFreq, qOut, kCache, vCache, nH, nKV, D);
}
extern "C" __global__ void __launch_bounds__(QKR_THREADS)
qk_norm_rope_kv_fp8(QK_ARGS, fp8* kCache, fp8* vCache, int nH, int nKV, int D) {
    qkNormRopeKv<fp8>(qkv, positions, slots, qNorm, kNorm, qkMode, eps, invFreq, qOut, kCache, vCache, nH, nKV, D);
}

// ---------------------------------------------------------------------------------------------------------------
// Attention over the paged cache, causal: token t (of sequence tokSeq[t], at position positions[t]) attends to
// positions 0..positions[t] of its sequence, found through its block table. The context is cut into partitions of
// ATT_CHUNK positions; block (t, kv head, z) handles partitions z, z + ATT_SPLITS, ... for all G = nH/nKV query
// heads of the group (online softmax across them) and writes an unnormalised partial (acc, max, sum);
// attention_combine merges the partials in z order. Partitions, their assignment and both merge orders depend
// only on the position: the result does not depend on the batch or on how a prompt is chunked, and a single
// decoding sequence still spreads over ATT_SPLITS × kv-heads blocks.
// ---------------------------------------------------------------------------------------------------------------
#define ATT_THREADS 128
#define ATT_CHUNK 128
#define ATT_MAXG 8
#define ATT_MAXD 256
#define ATT_SPLITS 16

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

template <typename KVT>
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
    int btStride = meta[0];
    const int* bt = blockTables + (size_t)tokSeq[t] * btStride;
    int ctx = positions[t] + 1;
    int z = blockIdx.z;
    if (z * ATT_CHUNK >= ctx) return;
    int qDim = nH * D;
    for (int i = tid; i < G * D; i += ATT_THREADS) qs[i] = q[(size_t)t * qDim + kvh * G * D + i];
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
                if (g < G) part[(((size_t)t * nH + kvh * G + g) * ATT_SPLITS + z) * (D + 2) + d] = acc[g][dd];
        }
    }
    if (tid < G) {
        float* pp = part + (((size_t)t * nH + kvh * G + tid) * ATT_SPLITS + z) * (D + 2);
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

// ---------------------------------------------------------------------------------------------------------------
// Staged attention (K/V fp32, bf16 or fp8; D in {16, 32, 64, 128}, G <= 8), the one that runs where it applies:
// the same partitions, arithmetic and order as `attention` above — bit-identical partials — with the K and V of a
// (token, kv head, z) job streamed through a ring of shared-memory stages by cp.async (coalesced 16-byte copies,
// SATT_STAGES - 1 stages in flight) instead of per-thread global loads. A stage holds 8 KB whatever the element type:
//   K stages: d-slices [128 positions][KD d] (64 bytes a position: 16 fp32, 32 bf16 or 64 fp8 dimensions), pieces
//             XOR-swizzled so the 16-byte reads of 8 rows hit 8 bank groups;
//   V stages: [VP positions][D] (16 fp32, 32 bf16 or 64 fp8 positions).
// Four warps per job; thread = position for the scores (sequential FMA over d = 0..D-1 per head, converted from the
// stored type as it is read), the block kernel's softmax code, thread = dimension for P·V (positions in order).
// Grid (kv heads, tokens, z). docs/cuda-notes.md v9–v12 has the one- and two-warp versions that came before.
// ---------------------------------------------------------------------------------------------------------------
#define SATT_STAGES 4
#define SATT_STAGE_FLOATS 2048

__device__ __forceinline__ void cpAsync16(void* smem, const void* gmem, bool valid) {
    unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    int n = valid ? 16 : 0; // 0: zero-fill, nothing read
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(n) : "memory");
}
__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N> // waits until at most N of this thread's cp.async groups are pending
__device__ __forceinline__ void cpAsyncWaitN() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

#define SATT_THREADS 128
// STAGES: the ring's depth (SATT_STAGES here; attention_bench.cu times others); KVT: the cache's element type
template <int D, int STAGES, typename KVT = float>
__device__ __forceinline__ void stagedAttentionBody(const float* q, const KVT* kCache, const KVT* vCache,
                                                     const int* tokSeq, const int* positions, const int* blockTables,
                                                     const int* meta, int blockSize, int nH, int nKV, float scale,
                                                     float* part) {
    constexpr int EB = (int)sizeof(KVT);
    constexpr int PE = 16 / EB;                             // elements in a 16-byte piece
    constexpr int KD = (64 / EB) < D ? (64 / EB) : D;       // dimensions of a K stage
    constexpr int KPIECES = KD / PE;                        // 16-byte pieces per position in a K stage
    constexpr int KST = D / KD;                             // K stages per partition
    constexpr int VP = 16 * 4 / EB;                         // positions of a V stage
    constexpr int DPC = D / PE;                             // 16-byte pieces of a V row
    static_assert(D % 16 == 0 && D <= 128 && ATT_CHUNK == SATT_THREADS, "staged attention: D multiple of 16, <= 128");
    static_assert(ATT_CHUNK * KD * EB <= SATT_STAGE_FLOATS * 4 && VP * D * EB <= SATT_STAGE_FLOATS * 4, "stage size");
    __shared__ __align__(16) float ring[STAGES][SATT_STAGE_FLOATS];
    __shared__ __align__(16) float qs[ATT_MAXG][D];
    __shared__ __align__(16) float pT[ATT_CHUNK][ATT_MAXG]; // scaled scores, then (in place) probabilities
    __shared__ int slotS[ATT_CHUNK];
    __shared__ float mS[ATT_MAXG], lS[ATT_MAXG], corrS[ATT_MAXG];
    // grid (kv heads, tokens, z): the kv heads of one token — neighbours in every cache row — are dispatched together
    int t = blockIdx.y, kvh = blockIdx.x, z = blockIdx.z;
    int tid = threadIdx.x;
    int warp = tid >> 5;
    int G = nH / nKV;
    const int* bt = blockTables + (size_t)tokSeq[t] * meta[0];
    int ctx = positions[t] + 1;
    if (z * ATT_CHUNK >= ctx) return;
    for (int i = G * D + tid; i < ATT_MAXG * D; i += SATT_THREADS) (&qs[0][0])[i] = 0.f;
    if (tid < ATT_MAXG) { mS[tid] = -INFINITY; lS[tid] = 0.f; }
    float acc[ATT_MAXG];
#pragma unroll
    for (int g = 0; g < ATT_MAXG; g++) acc[g] = 0.f;
    const int swz = (tid >> 1) & (KPIECES - 1);
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
            const float* qg = q + (size_t)t * nH * D + (size_t)kvh * G * D;
            for (int i = tid * 4; i < G * D; i += SATT_THREADS * 4) cpAsync16(&qs[0][0] + i, qg + i, true);
        }
        auto issue = [&](int s) {
            if (s < total) {
                KVT* buf = reinterpret_cast<KVT*>(ring[s % STAGES]);
                if (s < KST) {
#pragma unroll
                    for (int i = tid; i < ATT_CHUNK * KPIECES; i += SATT_THREADS) {
                        int j = i / KPIECES, c = i % KPIECES;
                        const KVT* src = kCache + ((size_t)slotS[j] * nKV + kvh) * D + s * KD + c * PE;
                        cpAsync16(buf + j * KD + ((c ^ ((j >> 1) & (KPIECES - 1))) * PE), src, j < n);
                    }
                } else {
                    int v0 = (s - KST) * VP;
#pragma unroll
                    for (int i = tid; i < VP * DPC; i += SATT_THREADS) {
                        int j = i / DPC, c = i % DPC;
                        const KVT* src = vCache + ((size_t)slotS[v0 + j] * nKV + kvh) * D + c * PE;
                        cpAsync16(buf + j * D + c * PE, src, v0 + j < n);
                    }
                }
            }
            cpAsyncCommit();
        };
#pragma unroll
        for (int s = 0; s < STAGES - 1; s++) issue(s);
        float sv[ATT_MAXG];
#pragma unroll
        for (int g = 0; g < ATT_MAXG; g++) sv[g] = 0.f;
        for (int s = 0; s < total; s++) {
            cpAsyncWaitN<STAGES - 2>();
            __syncthreads();
            issue(s + STAGES - 1);
            const KVT* buf = reinterpret_cast<const KVT*>(ring[s % STAGES]);
            if (s < KST) {
#pragma unroll
                for (int pc = 0; pc < KPIECES; pc++) {
                    float kv[PE];
                    kvPiece(buf + tid * KD + ((pc ^ swz) * PE), kv);
#pragma unroll
                    for (int e = 0; e < PE; e += 4) {
#pragma unroll
                        for (int g = 0; g < ATT_MAXG; g++) {
                            float4 qg = *reinterpret_cast<const float4*>(&qs[g][s * KD + pc * PE + e]);
                            sv[g] = fmaf(qg.x, kv[e], sv[g]);
                            sv[g] = fmaf(qg.y, kv[e + 1], sv[g]);
                            sv[g] = fmaf(qg.z, kv[e + 2], sv[g]);
                            sv[g] = fmaf(qg.w, kv[e + 3], sv[g]);
                        }
                    }
                }
                if (s == KST - 1) {
                    if (tid < n) {
#pragma unroll
                        for (int g = 0; g < ATT_MAXG; g++) if (g < G) pT[tid][g] = sv[g] * scale;
                    }
                    __syncthreads();
                    for (int g = warp; g < G; g += SATT_THREADS / 32)
                        softmaxStep([&](int j) { return pT[j][g]; }, pT, n, g, mS, lS, corrS);
                    __syncthreads();
#pragma unroll
                    for (int g = 0; g < ATT_MAXG; g++) if (g < G) acc[g] *= corrS[g];
                }
            } else if (tid < D) {
                int v0 = (s - KST) * VP;
                int cnt = min(VP, n - v0);
#pragma unroll 4
                for (int jj = 0; jj < cnt; jj++) {
                    float vv = kvLoad(buf + jj * D + tid);
                    float4 p0 = *reinterpret_cast<const float4*>(&pT[v0 + jj][0]);
                    float4 p1 = *reinterpret_cast<const float4*>(&pT[v0 + jj][4]);
                    const float pj[8] = {p0.x, p0.y, p0.z, p0.w, p1.x, p1.y, p1.z, p1.w};
#pragma unroll
                    for (int g = 0; g < ATT_MAXG; g++) if (g < G) acc[g] = fmaf(pj[g], vv, acc[g]);
                }
            }
        }
    }
    if (tid < D) {
#pragma unroll
        for (int g = 0; g < ATT_MAXG; g++)
            if (g < G) part[(((size_t)t * nH + kvh * G + g) * ATT_SPLITS + z) * (D + 2) + tid] = acc[g];
    }
    __syncthreads();
    if (tid < G) {
        float* pp = part + (((size_t)t * nH + kvh * G + tid) * ATT_SPLITS + z) * (D + 2);
        pp[D] = mS[tid];
        pp[D + 1] = lS[tid];
    }
}

#define SATT_ARGS_T(KVT) const float* q, const KVT* kCache, const KVT* vCache, const int* tokSeq, \
    const int* positions, const int* blockTables, const int* meta, int blockSize, int nH, int nKV, int D, float scale, \
    float* part
#define SATT_ARGS SATT_ARGS_T(float)
#define SATT_PASS q, kCache, vCache, tokSeq, positions, blockTables, meta, blockSize, nH, nKV, scale, part
#define SATT_KERNEL(NAME, DD, KVT) extern "C" __global__ void __launch_bounds__(SATT_THREADS, 4) \
    NAME(SATT_ARGS_T(KVT)) { stagedAttentionBody<DD, SATT_STAGES, KVT>(SATT_PASS); }
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

// ---------------------------------------------------------------------------------------------------------------
// Router: logits = xn . Wr^T (fp32 FMA, fixed order), softmax, top-k (ties: lower expert id), optional
// renormalisation. Writes the layer's ids/weights for the MoE block and, in the same kernel, the routing record
// into the step's output buffer: per token [ids numMoe*K | weights numMoe*K] (int32 / fp32 words).
// One block per token (ForwardPass launches 512 or 1,024 threads; with E <= 512 each thread holds at most one logit,
// so the block sums are the same). Each warp computes four experts' dot products at a time (independent loads in
// flight), each in the same fixed order.
// ---------------------------------------------------------------------------------------------------------------
#define ROUTER_MAXE 1024
extern "C" __global__ void router_topk(const float* xn, const bf16* Wr, int E, int H, int K, int normTopk,
                                       int moeSlot, int numMoe, int* topIds, float* topW, int* routingOut) {
    __shared__ float probs[ROUTER_MAXE];
    __shared__ float scratch[32];
    int t = blockIdx.x;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    const float* xr = xn + (size_t)t * H;
    constexpr int EPW = 4; // experts per warp and pass
    for (int e0 = warp; e0 < E; e0 += EPW * nw) {
        float s[EPW];
        const bf16* wr[EPW];
#pragma unroll
        for (int i = 0; i < EPW; i++) {
            s[i] = 0.f;
            wr[i] = Wr + (size_t)min(e0 + i * nw, E - 1) * H;
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
            if (lane == 0 && e0 + i * nw < E) probs[e0 + i * nw] = v;
        }
    }
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
    if (warp == 0) {
        int ids[32];
        float ws[32];
        for (int k = 0; k < K; k++) {
            float best = -1.f;
            int bi = 0x7fffffff;
            for (int e = lane; e < E; e += 32) {
                float p = probs[e];
                if (p > best || (p == best && e < bi)) { best = p; bi = e; }
            }
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) {
                float ob = __shfl_xor_sync(0xffffffffu, best, o);
                int oi = __shfl_xor_sync(0xffffffffu, bi, o);
                if (ob > best || (ob == best && oi < bi)) { best = ob; bi = oi; }
            }
            ids[k] = bi;
            ws[k] = best;
            __syncwarp();
            if (lane == 0) probs[bi] = -2.f;
            __syncwarp();
        }
        if (lane == 0) {
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
}

// ---------------------------------------------------------------------------------------------------------------
// Groups the T*K (token, k) pairs by expert: sortedTok[slot] = token, pairSlot[t*K+k] = slot, and a list of
// work tiles (expert, first slot, count <= tile) for the expert GEMMs; with tile2 > 0 a second list over the same
// slots with tiles of <= tile2 pairs (the expert products' 24-pair tiles at large batches). Single block. The order
// of pairs inside an expert is not deterministic, and need not be: each row of an expert GEMM is computed
// independently.
// ---------------------------------------------------------------------------------------------------------------
#define GROUP_MAXE 1024
// expert e's pairs (slots first .. first + count - 1) cut into tiles (expert, first slot, count <= tile) at tl
__device__ __forceinline__ void expertTiles(int* tl, int e, int first, int count, int tile) {
    for (int i = 0; i * tile < count; i++, tl += 3) {
        tl[0] = e;
        tl[1] = first + i * tile;
        tl[2] = min(tile, count - i * tile);
    }
}
#define GROUP_REG 4 // pairs per thread whose expert and rank stay in registers; rankTmp holds the rest
extern "C" __global__ void group_by_expert(const int* topIds, int numPairs, int K, int E, int tile, int tile2,
                                           int* rankTmp, int* sortedTok, int* pairSlot, int* tiles, int* numTiles,
                                           int* tiles2, int* numTiles2) {
    __shared__ int cnt[GROUP_MAXE];
    __shared__ int off[GROUP_MAXE];
    __shared__ int toff[GROUP_MAXE];
    __shared__ int toff2[GROUP_MAXE];
    __shared__ int warpC[32], warpT[32], warpT2[32];
    int tid = threadIdx.x, nt = blockDim.x, lane = tid & 31, warp = tid >> 5, nw = nt >> 5;
    for (int e = tid; e < E; e += nt) cnt[e] = 0;
    __syncthreads();
    int myE[GROUP_REG], myR[GROUP_REG];
#pragma unroll
    for (int j = 0; j < GROUP_REG; j++) {
        int p = tid + j * nt;
        if (p < numPairs) {
            myE[j] = topIds[p];
            myR[j] = atomicAdd(&cnt[myE[j]], 1);
        }
    }
    for (int p = tid + GROUP_REG * nt; p < numPairs; p += nt) rankTmp[p] = atomicAdd(&cnt[topIds[p]], 1);
    __syncthreads();
    // exclusive scans of the pair and tile counts over experts, nt experts per round (integer sums: exact)
    int baseC = 0, baseT = 0, baseT2 = 0;
    for (int e0 = 0; e0 < E; e0 += nt) {
        int e = e0 + tid;
        int c = e < E ? cnt[e] : 0;
        int ntl = (c + tile - 1) / tile;
        int ntl2 = tile2 > 0 ? (c + tile2 - 1) / tile2 : 0;
        int ic = c, it = ntl, it2 = ntl2;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            int uc = __shfl_up_sync(0xffffffffu, ic, o), ut = __shfl_up_sync(0xffffffffu, it, o);
            int ut2 = __shfl_up_sync(0xffffffffu, it2, o);
            if (lane >= o) { ic += uc; it += ut; it2 += ut2; }
        }
        if (lane == 31) { warpC[warp] = ic; warpT[warp] = it; warpT2[warp] = it2; }
        __syncthreads();
        int pc = baseC, pt = baseT, pt2 = baseT2;
        for (int w = 0; w < warp; w++) { pc += warpC[w]; pt += warpT[w]; pt2 += warpT2[w]; }
        if (e < E) {
            off[e] = pc + ic - c;
            toff[e] = pt + it - ntl;
            toff2[e] = pt2 + it2 - ntl2;
        }
        for (int w = 0; w < nw; w++) { baseC += warpC[w]; baseT += warpT[w]; baseT2 += warpT2[w]; }
        __syncthreads();
    }
    if (tid == 0) {
        *numTiles = baseT;
        if (tile2 > 0) *numTiles2 = baseT2;
    }
    for (int e = tid; e < E; e += nt) {
        expertTiles(tiles + 3 * toff[e], e, off[e], cnt[e], tile);
        if (tile2 > 0) expertTiles(tiles2 + 3 * toff2[e], e, off[e], cnt[e], tile2);
    }
#pragma unroll
    for (int j = 0; j < GROUP_REG; j++) {
        int p = tid + j * nt;
        if (p < numPairs) {
            int slot = off[myE[j]] + myR[j];
            sortedTok[slot] = p / K;
            pairSlot[p] = slot;
        }
    }
    for (int p = tid + GROUP_REG * nt; p < numPairs; p += nt) {
        int slot = off[topIds[p]] + rankTmp[p];
        sortedTok[slot] = p / K;
        pairSlot[p] = slot;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Tensor-core GEMM with bf16 weights and split fp32 activations:  Y[row s][n] = sum_k W_e[n][k] * X[in(s)][k].
// Work unit (one block): a tile of up to GEMM_TILE rows of X × 16 weight rows; the block's GEMM_WARPS warps split
// K (warp w takes the 32-wide k chunks w, w + GEMM_WARPS, ...) and their partial sums are added in warp order in
// shared memory, so the reduction order depends on K only — never on the batch — and small-batch decode still
// spreads each matrix over many blocks (N/16 of them) to keep enough loads in flight.
// mma.m16n8k16: A = 16 weight rows, B = 8 activation rows (GEMM_SUB sub-tiles of 8). Both operands are loaded
// 16 bytes per lane: within each 32-wide k chunk, lane (g, t) holds physical k 8t..8t+7, presented to the mma as
// logical k {2t,2t+1,2t+8,2t+9} (first mma) and likewise for the second: A and B use the same permutation, so the
// dot product is unchanged. The fp32 activation x is split into bf16 hi + lo (x - hi) and both are multiplied.
// MODE 0: store; MODE 1: Y += (residual add); MODE 2: gate/up pair, Y = silu(W.x) * (W2.x).
// tiles == null: dense, tile i covers rows i*GEMM_TILE.. of X (count from numRows); else tiles[i] = (expert,
// start, count) and weights of expert e start at W + e*expertStride.
// ---------------------------------------------------------------------------------------------------------------
#define GEMM_WARPS 8
#define GEMM_TILE 16
#define GEMM_SUB (GEMM_TILE / 8)

__device__ __forceinline__ void mma16816(float* c, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                                         uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// Activation row i of a tile (start, count): gathered through inRow (expert tiles) or taken in order (dense). Rows
// past the tile's count give its last row: the callers load them nowhere and never store them.
__device__ __forceinline__ const float* tileRow(const float* X, int ldx, const int* inRow, int start, int count, int i) {
    int rr = start + min(i, count - 1);
    return X + (size_t)(inRow ? inRow[rr] : rr) * ldx;
}

// This lane's activation rows: token group j holds tile rows j*8 + g (g = lane / 4); xok: the row is in the tile.
template <int SUB>
__device__ __forceinline__ void tileRows(const float* X, int ldx, const int* inRow, int start, int count,
                                         const float** xrow, bool* xok) {
    int g = (threadIdx.x & 31) >> 2;
#pragma unroll
    for (int j = 0; j < SUB; j++) {
        xok[j] = j * 8 + g < count;
        xrow[j] = tileRow(X, ldx, inRow, start, count, j * 8 + g);
    }
}

// The fp32 activations x[0..8) of one lane (physical k 8t..8t+7 of a 32-wide chunk) as bf16 hi + lo halves.
__device__ __forceinline__ void splitHiLo(const float* xs, uint32_t* h, uint32_t* l) {
#pragma unroll
    for (int i = 0; i < 4; i++) {
        h[i] = packBf16(xs[2 * i], xs[2 * i + 1]);
        float lo0 = xs[2 * i] - __bfloat162float(__float2bfloat16_rn(xs[2 * i]));
        float lo1 = xs[2 * i + 1] - __bfloat162float(__float2bfloat16_rn(xs[2 * i + 1]));
        l[i] = packBf16(lo0, lo1);
    }
}

// The lane's 8 activations as bf16 hi / lo halves from its two 16-byte loads at float offset k: PS 1 (the backend)
// — a split row (storeSplit), taken as it is; PS 0 — fp32 x[k .. k+8), split here, as every block did before the
// producers wrote split rows (bench/cuda/gemm_bench.cu keeps it for the comparison). Both give the same bits.
template <int PS>
__device__ __forceinline__ void laneHiLo(float4 a, float4 b, uint32_t* h, uint32_t* l) {
    if (PS) {
        h[0] = __float_as_uint(a.x); h[1] = __float_as_uint(a.y); h[2] = __float_as_uint(a.z); h[3] = __float_as_uint(a.w);
        l[0] = __float_as_uint(b.x); l[1] = __float_as_uint(b.y); l[2] = __float_as_uint(b.z); l[3] = __float_as_uint(b.w);
    } else {
        float xs[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
        splitHiLo(xs, h, l);
    }
}

// One 32-wide chunk into accumulator c: the four mma (hi, lo of the first 16 k, then of the second), in the order
// every GEMM variant must share for bit-identical results. A, B: weight rows g and g + 8, 16 bytes each.
__device__ __forceinline__ void mmaChunk(float* c, uint4 A, uint4 B, const uint32_t* h, const uint32_t* l) {
    mma16816(c, A.x, B.x, A.y, B.y, h[0], h[1]);
    mma16816(c, A.x, B.x, A.y, B.y, l[0], l[1]);
    mma16816(c, A.z, B.z, A.w, B.w, h[2], h[3]);
    mma16816(c, A.z, B.z, A.w, B.w, l[2], l[3]);
}

// The fixed-order reduction over the K split (warp 0 + warp 1 + ... + warp 7) of one 16-row group's accumulators
// acc (NACC = mats * SUB * 4 per lane), and its epilogue: c0,c1 -> weight row g, tile rows 2tq, 2tq+1 of the
// 8-token group; c2,c3 -> weight row g+8. MODE 0: store; 1: Y += (residual add); 2: Y = silu(gate) * up, as a
// split row (the down product's input). Every
// thread of the block calls it (two barriers per pass); red holds (GEMM_WARPS - 1) partial tiles.
template <int MODE, int SUB, int NACC, int JPASS = SUB>
__device__ __forceinline__ void reduceAndStore(float* acc, float (*red)[NACC / SUB * JPASS][32], int n0, int N,
                                               int start, int count, float* Y, int ldy) {
    // JPASS < SUB: JPASS token groups per pass through red (a smaller buffer, more barriers); each sum is the same
    constexpr int NMAT = NACC / (SUB * 4);
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
#pragma unroll
    for (int j0 = 0; j0 < SUB; j0 += JPASS) {
        // f(slot in red, index in acc) for every accumulator of this pass's token groups, in a fixed order
        auto forPass = [&](auto f) {
#pragma unroll
            for (int m = 0; m < NMAT; m++)
#pragma unroll
                for (int jj = 0; jj < JPASS; jj++)
#pragma unroll
                    for (int i = 0; i < 4; i++) f((m * JPASS + jj) * 4 + i, m * SUB * 4 + (j0 + jj) * 4 + i);
        };
        if (warp > 0) forPass([&](int ri, int ai) { red[warp - 1][ri][lane] = acc[ai]; });
        __syncthreads();
        if (warp == 0) {
#pragma unroll
            for (int w = 0; w < GEMM_WARPS - 1; w++) forPass([&](int ri, int ai) { acc[ai] += red[w][ri][lane]; });
#pragma unroll
            for (int j = j0; j < j0 + JPASS; j++) {
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    int n = n0 + g + (i >= 2 ? 8 : 0);
                    int ti = j * 8 + 2 * tq + (i & 1);
                    if (n < N && ti < count) {
                        float* yrow = Y + (size_t)(start + ti) * ldy;
                        float v = acc[j * 4 + i];
                        if (MODE == 0) yrow[n] = v;
                        else if (MODE == 1) yrow[n] = yrow[n] + v;
                        else storeSplit(yrow, n, (v / (1.0f + expf(-v))) * acc[SUB * 4 + j * 4 + i]); // the down input
                    }
                }
            }
        }
        __syncthreads();
    }
}

// Weight loads. HINT 1 (the gate/up kernels: -7 % at 32–256 tokens in bench/cuda/gemm_bench.cu, no gain for the
// dense products) skips L1 (the weights are streamed once; L1 stays for the re-read activations) and asks L2 to
// fetch 256 bytes around each 64-byte row piece, which the block's other warps read next.
template <int HINT>
__device__ __forceinline__ uint4 ldWeight(const bf16* p) {
    uint4 v;
    if (HINT == 0) {
        v = __ldg(reinterpret_cast<const uint4*>(p));
    } else {
        asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    }
    return v;
}

template <int MODE, int RG, int SUB = GEMM_SUB, int HINT = 0, int PS = 1>
__device__ __forceinline__ void gemmBody(const float* X, int ldx, const int* inRow, const bf16* W, const bf16* W2,
                                         long long expertStride, int N, int K, float* Y, int ldy, const int* tiles,
                                         const int* numTiles, int numRows) {
    // RG groups of 16 weight rows per block: more rows share each activation load (less activation traffic for
    // big tiles) without touching the reduction order, which only the K split decides.
    constexpr int NACC = (MODE == 2 ? 2 : 1) * SUB * 4;
    __shared__ float red[GEMM_WARPS - 1][NACC][32];
    int tileIdx = blockIdx.x;
    int e = 0, start, count;
    if (tiles) {
        if (tileIdx >= *numTiles) return;
        e = tiles[3 * tileIdx];
        start = tiles[3 * tileIdx + 1];
        count = tiles[3 * tileIdx + 2];
    } else {
        start = tileIdx * (8 * SUB);
        count = min((8 * SUB), numRows - start);
        if (count <= 0) return;
    }
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int g = lane >> 2, tq = lane & 3;
    int nBase = blockIdx.y * 16 * RG;
    const bf16* We = W + (long long)e * expertStride;
    const bf16* We2 = MODE == 2 ? W2 + (long long)e * expertStride : nullptr;
    const bf16* wa[RG];
    const bf16* wb[RG];
    const bf16* wa2[RG];
    const bf16* wb2[RG];
#pragma unroll
    for (int r = 0; r < RG; r++) {
        int rA = min(nBase + r * 16 + g, N - 1), rB = min(nBase + r * 16 + g + 8, N - 1);
        wa[r] = We + (size_t)rA * K;
        wb[r] = We + (size_t)rB * K;
        wa2[r] = MODE == 2 ? We2 + (size_t)rA * K : nullptr;
        wb2[r] = MODE == 2 ? We2 + (size_t)rB * K : nullptr;
    }
    const float* xrow[SUB];
    bool xok[SUB];
    tileRows<SUB>(X, ldx, inRow, start, count, xrow, xok);
    float acc[RG][NACC];
#pragma unroll
    for (int r = 0; r < RG; r++)
#pragma unroll
        for (int i = 0; i < NACC; i++) acc[r][i] = 0.f;

    // deeper unroll for the narrow variant: more 16-byte weight loads in flight per warp (decode is load-bound)
#pragma unroll(RG == 1 ? 4 : 2)
    for (int k0 = warp * 32; k0 < K; k0 += GEMM_WARPS * 32) {
        int k = k0 + 8 * tq;
        bool kok = k < K;
        uint4 A[RG], B[RG], A2[RG], B2[RG];
#pragma unroll
        for (int r = 0; r < RG; r++) {
            A[r] = make_uint4(0, 0, 0, 0); B[r] = A[r]; A2[r] = A[r]; B2[r] = A[r];
            if (kok) {
                A[r] = ldWeight<HINT>(wa[r] + k);
                B[r] = ldWeight<HINT>(wb[r] + k);
                if (MODE == 2) {
                    A2[r] = ldWeight<HINT>(wa2[r] + k);
                    B2[r] = ldWeight<HINT>(wb2[r] + k);
                }
            }
        }
#pragma unroll
        for (int j = 0; j < SUB; j++) {
            float4 x0 = make_float4(0.f, 0.f, 0.f, 0.f), x1 = x0;
            if (kok && xok[j]) {
                x0 = *reinterpret_cast<const float4*>(xrow[j] + k);
                x1 = *reinterpret_cast<const float4*>(xrow[j] + k + 4);
            }
            uint32_t h[4], l[4];
            laneHiLo<PS>(x0, x1, h, l);
#pragma unroll
            for (int r = 0; r < RG; r++) {
                mmaChunk(acc[r] + j * 4, A[r], B[r], h, l);
                if (MODE == 2) mmaChunk(acc[r] + SUB * 4 + j * 4, A2[r], B2[r], h, l);
            }
        }
    }
    // fixed-order reduction over the K split, one row group at a time
#pragma unroll
    for (int r = 0; r < RG; r++) reduceAndStore<MODE, SUB, NACC>(acc[r], red, nBase + r * 16, N, start, count, Y, ldy);
}

// "_wide" variants (64 weight rows per block for store/residual, 32 for the gate/up pair) are picked by the host
// for steps with many tokens per tile; their results are bit-identical to the narrow ones.
#define GEMM_ARGS const float* X, int ldx, const int* inRow, const bf16* W, long long expertStride, int N, int K, \
    float* Y, int ldy, const int* tiles, const int* numTiles, int numRows
#define GEMM_PASS X, ldx, inRow, W, nullptr, expertStride, N, K, Y, ldy, tiles, numTiles, numRows
extern "C" __global__ void __launch_bounds__(GEMM_WARPS * 32) gemm_store(GEMM_ARGS) { gemmBody<0, 1>(GEMM_PASS); }
extern "C" __global__ void __launch_bounds__(GEMM_WARPS * 32) gemm_store_wide(GEMM_ARGS) { gemmBody<0, 4>(GEMM_PASS); }
extern "C" __global__ void __launch_bounds__(GEMM_WARPS * 32) gemm_residual(GEMM_ARGS) { gemmBody<1, 1>(GEMM_PASS); }
extern "C" __global__ void __launch_bounds__(GEMM_WARPS * 32) gemm_residual_wide(GEMM_ARGS) { gemmBody<1, 4>(GEMM_PASS); }

#define SWIGLU_ARGS const float* X, int ldx, const int* inRow, const bf16* Wg, const bf16* Wu, long long expertStride, \
    int N, int K, float* Y, int ldy, const int* tiles, const int* numTiles, int numRows
#define SWIGLU_PASS X, ldx, inRow, Wg, Wu, expertStride, N, K, Y, ldy, tiles, numTiles, numRows
extern "C" __global__ void __launch_bounds__(GEMM_WARPS * 32) gemm_swiglu(SWIGLU_ARGS) { gemmBody<2, 1, GEMM_SUB, 1>(SWIGLU_PASS); }
extern "C" __global__ void __launch_bounds__(GEMM_WARPS * 32) gemm_swiglu_wide(SWIGLU_ARGS) { gemmBody<2, 2, GEMM_SUB, 1>(SWIGLU_PASS); }

// the variants with weights staged in shared memory (same results, bit for bit)
#include "gemm_staged.cuh"
// the output-tiled dense GEMMs for many rows (same results, bit for bit)
#include "gemm_tiled.cuh"

// ---------------------------------------------------------------------------------------------------------------
// Weighted combine + residual: x[t] += sum_k w[t,k] * y[pairSlot[t*K+k]] (k in order: fixed reduction order).
// Weights and row pointers are read once per block; 4 consecutive elements per thread (float4) when H % 4 == 0.
// ---------------------------------------------------------------------------------------------------------------
#define MOE_MAXK 32
extern "C" __global__ void moe_combine(float* x, const float* ySorted, const int* pairSlot, const float* topW, int K,
                                       int H) {
    __shared__ float wS[MOE_MAXK];
    __shared__ const float* yS[MOE_MAXK];
    int t = blockIdx.x;
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
        wS[k] = topW[t * K + k];
        yS[k] = ySorted + (size_t)pairSlot[t * K + k] * H;
    }
    __syncthreads();
    float* xr = x + (size_t)t * H;
    if ((H & 3) == 0) {
        for (int i = 4 * threadIdx.x; i < H; i += 4 * blockDim.x) {
            float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
#pragma unroll 8
            for (int k = 0; k < K; k++) {
                float w = wS[k];
                float4 y = *reinterpret_cast<const float4*>(yS[k] + i);
                s0 += w * y.x;
                s1 += w * y.y;
                s2 += w * y.z;
                s3 += w * y.w;
            }
            float4 xv = *reinterpret_cast<float4*>(xr + i);
            xv.x += s0;
            xv.y += s1;
            xv.z += s2;
            xv.w += s3;
            *reinterpret_cast<float4*>(xr + i) = xv;
        }
    } else {
        for (int i = threadIdx.x; i < H; i += blockDim.x) {
            float s = 0.f;
            for (int k = 0; k < K; k++) s += wS[k] * yS[k][i];
            xr[i] += s;
        }
    }
}

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

    // max, argmax (lowest id among equals)
    float best = -INFINITY;
    int bi = 0x7fffffff;
    for (int i = threadIdx.x; i < V; i += SAMPLE_THREADS) {
        float v = l[i];
        if (v > best) { best = v; bi = i; }
    }
    {
        int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            float ob = __shfl_xor_sync(0xffffffffu, best, o);
            int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (ob > best || (ob == best && oi < bi)) { best = ob; bi = oi; }
        }
        if (lane == 0) { scratch[warp] = best; iscratch[warp] = bi; }
        __syncthreads();
        best = scratch[0];
        bi = iscratch[0];
        for (int w = 1; w < SAMPLE_THREADS / 32; w++) {
            if (scratch[w] > best || (scratch[w] == best && iscratch[w] < bi)) { best = scratch[w]; bi = iscratch[w]; }
        }
        __syncthreads();
    }
    float m = best;
    float z = 0.f;
    for (int i = threadIdx.x; i < V; i += SAMPLE_THREADS) z += expf(l[i] - m);
    z = blockSum(z, scratch);
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
