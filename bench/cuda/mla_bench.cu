// Check and micro-benchmark of mla_attention_bf16 (gpu-runtime/src/main/cuda/kernels/mla_attention.cuh), MLA decode
// attention over a paged bf16 latent cache in the absorbed form, each partial merged by attention_combine's fp32
// twin (bench_util's x_attention_combine_ref). Per shape:
//   1. CPU, double: the absorbed form (qLat = W_uk^T q_nope; scores against the latent; out = W_uv · sum p c) against
//      the expanded MLA of transformers' DeepseekV3Attention (k = [W_uk c | k_rot], v = W_uv c, plain attention):
//      max |difference| below 1e-9 — the algebra the kernel relies on.
//   2. the kernel + merge against the CPU's absorbed latent output (double) for up to 32 tokens spread over the
//      batch: max |error| <= TOL; and each of those tokens launched alone gives the same bits as in the batch.
//   3. timing at each token count: µs per kernel + merge, and the latent bytes read once per token (GB/s).
// Shapes: DeepSeek-V2-Lite (16 heads) and DeepSeek-V3 (128 heads; kv_lora_rank 512, rope 64, nope 128, v 128), and
// the deepseek-v3-tiny fixture's (4 heads; 16, 8, 16, 16). Positions: ctx - 1 for every token (decode), ctx given.
// On the GPU machine:
//   bench/cuda/run-mla-bench.sh 770 1 32 256
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

// 2. and 3. the kernel
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
    auto latH = bf16Round(normal((size_t)numBlocks * blockSize * RD, seed + 1));
    std::vector<bf16> latB(latH.size());
    for (size_t i = 0; i < latH.size(); i++) latB[i] = __float2bfloat16_rn(latH[i]);
    auto qLatH = normal((size_t)maxT * sh.nH * sh.R, seed + 2, 0.f, 0.5f);
    auto qRopeH = normal((size_t)maxT * sh.nH * sh.DR, seed + 3);
    bf16* lat = dev(latB);
    float *qLat = dev(qLatH), *qRope = dev(qRopeH);
    int *tokSeqD = dev(tokSeq), *posD = dev(pos), *btD = dev(bt), *meta = dev(std::vector<int>{btStride});
    float *part, *out, *outOne;
    CK(cudaMalloc(&part, (size_t)maxT * sh.nH * ATT_SPLITS * (sh.R + 2) * 4));
    CK(cudaMalloc(&out, (size_t)maxT * sh.nH * sh.R * 4));
    CK(cudaMalloc(&outOne, (size_t)sh.nH * sh.R * 4));
    auto rowOf = [&](int t, int p) { return (size_t)(bt[(size_t)t * btStride + p / blockSize] * blockSize + p % blockSize) * RD; };
    for (int T : tokenCounts) {
        auto run = [&](int n, const int* tokSeqP, const int* posP, const float* qL, const float* qR, float* o) {
            mla_attention_bf16<<<dim3(n, nY, ATT_SPLITS), MLA_THREADS>>>(qL, qR, lat, tokSeqP, posP, btD, meta,
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
        double bytes = (double)T * ctxLen * RD * 2;
        bool good = maxErr <= TOL && alone;
        ok &= good;
        printf("  T %4d ctx %5d: max|err| %.2e (%d tokens), alone = batched: %s -> %s; %9.2f us, %7.0f GB/s of latent\n",
               T, ctxLen, maxErr, probes, alone ? "yes" : "NO", good ? "ok" : "FAIL", us, bytes / us / 1e3);
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
        runShape(sh, ctx, tokens, seed++);
    }
    printf(ok ? "all checks passed\n" : "SOME CHECKS FAILED\n");
    return ok ? 0 : 1;
}
