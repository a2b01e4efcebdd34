// Check and micro-benchmark of the MLA kernels (gpu-runtime/src/main/cuda/kernels/mla_attention.cuh): decode
// attention over a paged latent cache in the absorbed form (mla_attention*, each partial merged by
// attention_combine's fp32 twin, bench_util's x_attention_combine_ref) and the cache row / query rope write
// (mla_rope_latent*), for cache elements fp32, bf16 and fp8 e4m3. Per shape:
//   1. CPU, double: the absorbed form (qLat = W_uk^T q_nope; scores against the latent; out = W_uv · sum p c) against
//      the expanded MLA of transformers' DeepseekV3Attention (k = [W_uk c | k_rot], v = W_uv c, plain attention):
//      max |difference| below 1e-9 — the algebra the kernels rely on. Runs before any device call.
//   2. mla_rope_latent (fp32 cache) against a double-precision CPU RMSNorm + RoPE (interleaved pairs and
//      rotate-half) within 2e-5; the bf16 and fp8 variants' rows equal the fp32 row rounded once, bit for bit, and
//      their rotated queries equal the fp32 variant's.
//   3. per cache type, the attention + merge against the CPU's absorbed latent output (double, from the stored
//      cache values) for up to 32 tokens spread over the batch: max |error| <= TOL; and each of those tokens
//      launched alone gives the same bits as in the batch. Then timed at each token count: µs per kernel + merge,
//      and the cache bytes read once per token (GB/s).
// Shapes: DeepSeek-V2-Lite (16 heads) and DeepSeek-V3 (128 heads; kv_lora_rank 512, rope 64, nope 128, v 128), and
// the deepseek-v3-tiny fixture's (4 heads; 16, 8, 16, 16). Positions: ctx - 1 for every token (decode), ctx given.
// On the GPU machine:
//   bench/cuda/run-bench.sh mla_bench 770 1 32 256
// (first argument the context length, then token counts). Exits 1 on a failed check.
#include "../../gpu-runtime/src/main/cuda/kernels.cu"
#include "bench_util.cuh"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

static const double TOL = 2e-5; // outputs are convex combinations of N(0, 1) latent values

struct Shape {
    const char* name;
    int nH, R, DR, DN, DV;
};
static const Shape SHAPES[] = {
    {"deepseek-v3-tiny (fixture)", 4, 16, 8, 16, 16},
    {"DeepSeek-V2-Lite", 16, 512, 64, 128, 128},
    {"DeepSeek-V3 / R1", 128, 512, 64, 128, 128},
};

static bool ok = true;

static std::vector<float> bf16Round(std::vector<float> v) {
    for (auto& x : v) x = __bfloat162float(__float2bfloat16_rn(x));
    return v;
}

// 1. absorbed against expanded, in double, on a few positions: the algebra alone
static void checkAbsorption(const Shape& sh, unsigned seed) {
    const int ctx = 37, RD = sh.R + sh.DR;
    const double scale = 1.0 / std::sqrt((double)(sh.DN + sh.DR));
    auto lat = normal((size_t)ctx * RD, seed);                              // [c | k_rot] per position
    auto wkvb = normal((size_t)sh.nH * (sh.DN + sh.DV) * sh.R, seed + 1, 0.f, 1.f / std::sqrt((float)sh.R));
    auto q = normal((size_t)sh.nH * (sh.DN + sh.DR), seed + 2);             // [q_nope | q_rot] per head
    double maxDiff = 0;
    for (int h = 0; h < sh.nH; h++) {
        const float* W = &wkvb[(size_t)h * (sh.DN + sh.DV) * sh.R]; // rows 0..DN-1: W_uk_h, DN..DN+DV-1: W_uv_h
        const float* qh = &q[(size_t)h * (sh.DN + sh.DR)];
        // expanded: k_nope = W_uk c, v = W_uv c
        std::vector<double> s1(ctx), s2(ctx);
        std::vector<std::vector<double>> v(ctx, std::vector<double>(sh.DV));
        for (int p = 0; p < ctx; p++) {
            const float* c = &lat[(size_t)p * RD];
            double dot = 0;
            for (int i = 0; i < sh.DN; i++) {
                double k = 0;
                for (int j = 0; j < sh.R; j++) k += (double)W[(size_t)i * sh.R + j] * c[j];
                dot += qh[i] * k;
            }
            for (int i = 0; i < sh.DR; i++) dot += (double)qh[sh.DN + i] * c[sh.R + i];
            s1[p] = dot * scale;
            for (int i = 0; i < sh.DV; i++) {
                double a = 0;
                for (int j = 0; j < sh.R; j++) a += (double)W[(size_t)(sh.DN + i) * sh.R + j] * c[j];
                v[p][i] = a;
            }
        }
        // absorbed: qLat = W_uk^T q_nope
        std::vector<double> qLat(sh.R, 0.0);
        for (int j = 0; j < sh.R; j++)
            for (int i = 0; i < sh.DN; i++) qLat[j] += (double)W[(size_t)i * sh.R + j] * qh[i];
        for (int p = 0; p < ctx; p++) {
            const float* c = &lat[(size_t)p * RD];
            double dot = 0;
            for (int j = 0; j < sh.R; j++) dot += qLat[j] * c[j];
            for (int i = 0; i < sh.DR; i++) dot += (double)qh[sh.DN + i] * c[sh.R + i];
            s2[p] = dot * scale;
        }
        auto softmax = [&](std::vector<double> s) {
            double m = *std::max_element(s.begin(), s.end()), l = 0;
            for (auto& x : s) l += (x = std::exp(x - m));
            for (auto& x : s) x /= l;
            return s;
        };
        auto p1 = softmax(s1), p2 = softmax(s2);
        std::vector<double> latOut(sh.R, 0.0);
        for (int p = 0; p < ctx; p++)
            for (int j = 0; j < sh.R; j++) latOut[j] += p2[p] * lat[(size_t)p * RD + j];
        for (int i = 0; i < sh.DV; i++) {
            double o1 = 0, o2 = 0;
            for (int p = 0; p < ctx; p++) o1 += p1[p] * v[p][i];
            for (int j = 0; j < sh.R; j++) o2 += (double)W[(size_t)(sh.DN + i) * sh.R + j] * latOut[j];
            maxDiff = std::max(maxDiff, std::fabs(o1 - o2));
        }
    }
    bool good = maxDiff < 1e-9;
    ok &= good;
    printf("  absorbed vs expanded MLA (CPU, double, %d positions): max |diff| %.1e %s\n", ctx, maxDiff,
           good ? "ok" : "FAIL");
}

// cache element <-> fp32, on the host (the device's kvStore / kvLoad)
static void put(float* d, float v) { *d = v; }
static void put(bf16* d, float v) { *d = __float2bfloat16_rn(v); }
static void put(fp8* d, float v) { *d = __nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3); }
static float stored(float v) { return v; }
static float stored(bf16 v) { return __bfloat162float(v); }
static float stored(fp8 v) { return __half2float(__half(__nv_cvt_fp8_to_halfraw(v, __NV_E4M3))); }

template <typename KVT> struct Mla;
template <> struct Mla<float> {
    static constexpr const char* name = "fp32";
    static constexpr auto attention = mla_attention;
    static constexpr auto write = mla_rope_latent;
};
template <> struct Mla<bf16> {
    static constexpr const char* name = "bf16";
    static constexpr auto attention = mla_attention_bf16;
    static constexpr auto write = mla_rope_latent_bf16;
};
template <> struct Mla<fp8> {
    static constexpr const char* name = "fp8";
    static constexpr auto attention = mla_attention_fp8;
    static constexpr auto write = mla_rope_latent_fp8;
};

// 2. the cache row / query rope write
static void checkWrite(const Shape& sh, unsigned seed) {
    const int T = 64, RD = sh.R + sh.DR, half = sh.DR / 2, QD = sh.DN + sh.DR;
    const float eps = 1e-6f;
    auto qH = normal((size_t)T * sh.nH * QD, seed), kvAH = normal((size_t)T * RD, seed + 1, 0.f, 3.f);
    auto wH = bf16Round(normal(sh.R, seed + 2, 1.f, 0.2f));
    std::vector<bf16> wB(sh.R);
    for (int i = 0; i < sh.R; i++) wB[i] = __float2bfloat16_rn(wH[i]);
    std::vector<float> invFreq(half);
    for (int i = 0; i < half; i++) invFreq[i] = (float)std::pow(10000.0, -2.0 * i / sh.DR);
    std::vector<int> posH(T), slotH(T);
    std::mt19937 rng(seed + 3);
    for (int t = 0; t < T; t++) { posH[t] = (int)(rng() % 4000); slotH[t] = T - 1 - t; }
    float *q = dev(qH), *kvA = dev(kvAH), *inv = dev(invFreq), *qRope[3];
    bf16* w = dev(wB);
    int *pos = dev(posH), *slots = dev(slotH);
    float* cF;
    bf16* cB;
    fp8* c8;
    CK(cudaMalloc(&cF, (size_t)T * RD * 4));
    CK(cudaMalloc(&cB, (size_t)T * RD * 2));
    CK(cudaMalloc(&c8, (size_t)T * RD));
    for (auto& r : qRope) CK(cudaMalloc(&r, (size_t)T * sh.nH * sh.DR * 4));
    for (int il = 0; il < 2; il++) {
        mla_rope_latent<<<T, MLAW_THREADS>>>(q, kvA, w, eps, inv, pos, slots, sh.nH, sh.DN, sh.R, sh.DR, il, qRope[0], cF);
        mla_rope_latent_bf16<<<T, MLAW_THREADS>>>(q, kvA, w, eps, inv, pos, slots, sh.nH, sh.DN, sh.R, sh.DR, il, qRope[1], cB);
        mla_rope_latent_fp8<<<T, MLAW_THREADS>>>(q, kvA, w, eps, inv, pos, slots, sh.nH, sh.DN, sh.R, sh.DR, il, qRope[2], c8);
        CK(cudaDeviceSynchronize());
        auto rowF = toHost(cF, (size_t)T * RD);
        auto rowB = toHost(cB, (size_t)T * RD);
        auto row8 = toHost(c8, (size_t)T * RD);
        auto qr = toHost(qRope[0], (size_t)T * sh.nH * sh.DR);
        double err = 0;
        bool rounded = true;
        auto rope = [&](const float* x, int i, float ang, double* o) { // the pair's rotation, in double
            double x1 = il ? x[2 * i] : x[i], x2 = il ? x[2 * i + 1] : x[i + half];
            o[0] = x1 * std::cos((double)ang) - x2 * std::sin((double)ang);
            o[1] = x2 * std::cos((double)ang) + x1 * std::sin((double)ang);
        };
        for (int t = 0; t < T; t++) {
            const float* a = &kvAH[(size_t)t * RD];
            const float* r = &rowF[(size_t)slotH[t] * RD];
            double ss = 0;
            for (int i = 0; i < sh.R; i++) ss += (double)a[i] * a[i];
            double invN = 1.0 / std::sqrt(ss / sh.R + eps);
            for (int i = 0; i < sh.R; i++) err = std::max(err, std::fabs(wH[i] * a[i] * invN - r[i]));
            for (int i = 0; i < half; i++) {
                float ang = (float)posH[t] * invFreq[i];
                double o[2];
                rope(a + sh.R, i, ang, o);
                err = std::max(err, std::max(std::fabs(o[0] - r[sh.R + i]), std::fabs(o[1] - r[sh.R + half + i])));
                for (int h = 0; h < sh.nH; h++) {
                    rope(&qH[((size_t)t * sh.nH + h) * QD + sh.DN], i, ang, o);
                    const float* qo = &qr[((size_t)t * sh.nH + h) * sh.DR];
                    err = std::max(err, std::max(std::fabs(o[0] - qo[i]), std::fabs(o[1] - qo[i + half])));
                }
            }
            for (int i = 0; i < RD; i++) {
                size_t k = (size_t)slotH[t] * RD + i;
                bf16 b = __float2bfloat16_rn(rowF[k]);
                rounded &= memcmp(&b, &rowB[k], 2) == 0 && __nv_cvt_float_to_fp8(rowF[k], __NV_SATFINITE, __NV_E4M3) == row8[k];
            }
        }
        bool sameQ = sameAll(qRope[0], qRope[1], (long long)T * sh.nH * sh.DR) &&
                     sameAll(qRope[0], qRope[2], (long long)T * sh.nH * sh.DR);
        bool good = err <= 2e-5 && rounded && sameQ;
        ok &= good;
        printf("  mla_rope_latent (%s pairs, %d tokens): max |err| %.2e vs CPU; bf16 / fp8 rows = fp32 row rounded: %s; "
               "queries same: %s -> %s\n", il ? "interleaved" : "rotate-half", T, err, rounded ? "yes" : "NO",
               sameQ ? "yes" : "NO", good ? "ok" : "FAIL");
    }
}

// 3. the attention, for cache elements KVT
template <typename KVT>
static void runShape(const Shape& sh, int ctxLen, const std::vector<int>& tokenCounts, unsigned seed) {
    const int RD = sh.R + sh.DR, blockSize = 16, nY = cdiv(sh.nH, MLA_HEADS);
    const float scale = 1.f / std::sqrt((float)(sh.DN + sh.DR));
    int maxT = *std::max_element(tokenCounts.begin(), tokenCounts.end());
    // sequence t: positions 0 .. ctxLen - 1, its blocks shuffled over the cache
    int btStride = cdiv(ctxLen, blockSize), numBlocks = maxT * btStride;
    std::vector<int> phys(numBlocks), bt((size_t)maxT * btStride), tokSeq(maxT), pos(maxT, ctxLen - 1);
    for (int i = 0; i < numBlocks; i++) phys[i] = i;
    std::mt19937 rng(seed);
    std::shuffle(phys.begin(), phys.end(), rng);
    for (int t = 0; t < maxT; t++) {
        tokSeq[t] = t;
        for (int b = 0; b < btStride; b++) bt[(size_t)t * btStride + b] = phys[t * btStride + b];
    }
    auto latH = normal((size_t)numBlocks * blockSize * RD, seed + 1);
    std::vector<KVT> latS(latH.size());
    for (size_t i = 0; i < latH.size(); i++) {
        put(&latS[i], latH[i]);
        latH[i] = stored(latS[i]); // the reference reads what the cache holds
    }
    auto qLatH = normal((size_t)maxT * sh.nH * sh.R, seed + 2, 0.f, 0.5f);
    auto qRopeH = normal((size_t)maxT * sh.nH * sh.DR, seed + 3);
    KVT* lat = dev(latS);
    float *qLat = dev(qLatH), *qRope = dev(qRopeH);
    int *tokSeqD = dev(tokSeq), *posD = dev(pos), *btD = dev(bt), *meta = dev(std::vector<int>{btStride});
    float *part, *out, *outOne;
    CK(cudaMalloc(&part, (size_t)maxT * sh.nH * ATT_SPLITS * (sh.R + 2) * 4));
    CK(cudaMalloc(&out, (size_t)maxT * sh.nH * sh.R * 4));
    CK(cudaMalloc(&outOne, (size_t)sh.nH * sh.R * 4));
    auto rowOf = [&](int t, int p) { return (size_t)(bt[(size_t)t * btStride + p / blockSize] * blockSize + p % blockSize) * RD; };
    for (int T : tokenCounts) {
        auto run = [&](int n, const int* tokSeqP, const int* posP, const float* qL, const float* qR, float* o) {
            Mla<KVT>::attention<<<dim3(n, nY, ATT_SPLITS), MLA_THREADS>>>(qL, qR, lat, tokSeqP, posP, btD, meta,
                                                                          blockSize, sh.nH, sh.R, sh.DR, scale, part);
            x_attention_combine_ref<<<dim3(n, sh.nH), 128>>>(part, posP, sh.nH, sh.R, o);
        };
        run(T, tokSeqD, posD, qLat, qRope, out);
        CK(cudaDeviceSynchronize());
        auto got = toHost(out, (size_t)T * sh.nH * sh.R);
        double maxErr = 0;
        bool alone = true;
        int probes = std::min(T, 32);
        for (int i = 0; i < probes; i++) {
            int t = (int)((long long)i * T / probes), ctx = pos[t] + 1;
            for (int h = 0; h < sh.nH; h++) {
                const float* ql = &qLatH[((size_t)t * sh.nH + h) * sh.R];
                const float* qr = &qRopeH[((size_t)t * sh.nH + h) * sh.DR];
                std::vector<double> s(ctx);
                double m = -1e300, l = 0;
                for (int p = 0; p < ctx; p++) {
                    const float* c = &latH[rowOf(t, p)];
                    double dot = 0;
                    for (int j = 0; j < sh.R; j++) dot += (double)ql[j] * c[j];
                    for (int j = 0; j < sh.DR; j++) dot += (double)qr[j] * c[sh.R + j];
                    s[p] = dot * scale;
                    m = std::max(m, s[p]);
                }
                std::vector<double> o(sh.R, 0.0);
                for (int p = 0; p < ctx; p++) {
                    double e = std::exp(s[p] - m);
                    l += e;
                    const float* c = &latH[rowOf(t, p)];
                    for (int j = 0; j < sh.R; j++) o[j] += e * c[j];
                }
                for (int j = 0; j < sh.R; j++)
                    maxErr = std::max(maxErr, std::fabs(o[j] / l - got[((size_t)t * sh.nH + h) * sh.R + j]));
            }
            // the same token alone: its own launch of one block row
            run(1, tokSeqD + t, posD + t, qLat + (size_t)t * sh.nH * sh.R, qRope + (size_t)t * sh.nH * sh.DR, outOne);
            CK(cudaDeviceSynchronize());
            auto one = toHost(outOne, (size_t)sh.nH * sh.R);
            alone &= memcmp(one.data(), &got[(size_t)t * sh.nH * sh.R], one.size() * 4) == 0;
        }
        double us = timeIt([&] { run(T, tokSeqD, posD, qLat, qRope, out); }, 11, 5);
        double bytes = (double)T * ctxLen * RD * sizeof(KVT);
        bool good = maxErr <= TOL && alone;
        ok &= good;
        printf("  %s T %4d ctx %5d: max|err| %.2e (%d tokens), alone = batched: %s -> %s; %9.2f us, %7.0f GB/s of latent\n",
               Mla<KVT>::name, T, ctxLen, maxErr, probes, alone ? "yes" : "NO", good ? "ok" : "FAIL", us, bytes / us / 1e3);
    }
}

int main(int argc, char** argv) {
    int ctx = argc > 1 ? atoi(argv[1]) : 770;
    std::vector<int> tokens;
    for (int i = 2; i < argc; i++) tokens.push_back(atoi(argv[i]));
    if (tokens.empty()) tokens = {1, 32, 256};
    unsigned seed = 1;
    for (const Shape& sh : SHAPES) { // CPU only: runs (and must pass) before any device call
        printf("%s: %d heads, kv_lora_rank %d, rope %d, nope %d, v %d\n", sh.name, sh.nH, sh.R, sh.DR, sh.DN, sh.DV);
        checkAbsorption(sh, seed++);
    }
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("%s, %d SMs; tolerance %.0e against the CPU sum\n", prop.name, prop.multiProcessorCount, TOL);
    for (const Shape& sh : SHAPES) {
        printf("%s\n", sh.name);
        checkWrite(sh, seed++);
        runShape<float>(sh, ctx, tokens, seed++);
        runShape<bf16>(sh, ctx, tokens, seed++);
        runShape<fp8>(sh, ctx, tokens, seed++);
    }
    printf(ok ? "all checks passed\n" : "SOME CHECKS FAILED\n");
    return ok ? 0 : 1;
}
