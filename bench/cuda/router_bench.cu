// Check and micro-benchmark of router_grouped (gpu-runtime/src/main/cuda/kernels/router_grouped.cuh), the
// group-limited routers of DeepSeek-V2 / V3, GLM-4.5, Moonlight, Kimi-K2 and Qwen2-MoE, at each model's router shape.
// For every shape:
//   1. selection, bit for bit: routerSelect (group limiting, top-k, weights, order) on given fp32 scores against the
//      CPU reference below (cpuSelect) — random scores, and scores on a 1/16 grid so that equal scores (ties) are
//      everywhere: ids, their order and the weights must be identical.
//   2. the whole kernel (logits, scores, selection) against the CPU reference with logits and scores in double:
//      ids equal in order except where the reference's own margin (selection boundary, group boundary, or two
//      listed weights) is below 1e-5 (a float32 kernel may legitimately swap there; counted, must stay rare);
//      weights within 1e-5 × routed_scaling_factor; Qwen2-MoE's shared-expert gate within 1e-5; the routing record
//      equal to the ids / weights the MoE block gets; and the same bits at 512 and 1,024 threads a block (ForwardPass
//      picks either by batch size: a token's routing must not depend on it).
//   3. router_grouped as a plain softmax top-k (one group, no bias, scaling 1, normEps 0) against router_topk, the
//      router the GPU checks already cover: ids and weights bit for bit, with and without renormalisation.
//   4. routing replay (router_grouped_forced, router_topk_forced; kernels/replay.cuh), every other token forced:
//      forcing the free kernel's own ids gives its ids, weights and record bit for bit, every forced id counted as
//      reproduced, the free tokens unchanged; forcing random distinct ids gives the CPU reference's weights for them
//      (scores gathered at the ids, normalised in the given order, scaled) within 1e-5 x scaling and the count of
//      the free kernel's ids among them exactly; router_topk_forced equals router_grouped_forced as a plain softmax
//      top-k bit for bit (ids, weights, counts), with and without renormalisation.
//   5. timing: router_grouped and router_topk (softmax top-k, the Qwen3-MoE router) on the same E, H, K, and the
//      forced variants with every token forced.
// On the GPU machine: bench/cuda/run-bench.sh router_bench [tokens ...]   (default 1 32 256). Exits 1 on any mismatch.
#include "../../gpu-runtime/src/main/cuda/kernels.cu"
#include "bench_util.cuh"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

struct Shape {
    const char* name;
    int H, E, K, kind, nGroup, topkGroup, normTopk;
    float normEps, scaling;
    bool bias, sharedGate;
};
// the models' config.json values (n_group / topk_group 1: no group limiting)
static const Shape SHAPES[] = {
    {"deepseek-v3-tiny (fixture)", 64, 16, 4, ROUTE_SIGMOID_BIAS, 4, 2, 1, 1e-20f, 2.5f, true, false},
    {"DeepSeek-V3 / R1", 7168, 256, 8, ROUTE_SIGMOID_BIAS, 8, 4, 1, 1e-20f, 2.5f, true, false},
    {"Kimi-K2", 7168, 384, 8, ROUTE_SIGMOID_BIAS, 1, 1, 1, 1e-20f, 2.827f, true, false},
    {"Moonlight-16B-A3B", 2048, 64, 6, ROUTE_SIGMOID_BIAS, 1, 1, 1, 1e-20f, 2.446f, true, false},
    {"GLM-4.5-Air", 4096, 128, 8, ROUTE_SIGMOID_BIAS, 1, 1, 1, 1e-20f, 1.0f, true, false},
    {"GLM-4.5", 5120, 160, 8, ROUTE_SIGMOID_BIAS, 1, 1, 1, 1e-20f, 2.5f, true, false},
    {"DeepSeek-V2 (group_limited_greedy)", 5120, 160, 6, ROUTE_SOFTMAX, 8, 3, 0, 0.f, 16.0f, false, false},
    {"DeepSeek-V2-Lite (greedy)", 2048, 64, 6, ROUTE_SOFTMAX, 1, 1, 0, 0.f, 1.0f, false, false},
    {"Qwen1.5-MoE-A2.7B", 2048, 60, 4, ROUTE_SOFTMAX, 1, 1, 0, 0.f, 1.0f, false, true},
    {"Qwen2-57B-A14B", 3584, 64, 8, ROUTE_SOFTMAX, 1, 1, 0, 0.f, 1.0f, false, true},
    {"Qwen2-MoE, norm_topk_prob", 2048, 60, 4, ROUTE_SOFTMAX, 1, 1, 1, 0.f, 1.0f, false, true},
};

// ---- CPU reference (written from transformers 5.17's routers, not from the kernel) ----

// scores s and choice c of one token from its logits, in double, rounded once to fp32
static void cpuScores(const double* l, const float* bias, const Shape& sh, float* s, float* c) {
    if (sh.kind == ROUTE_SOFTMAX) {
        double m = *std::max_element(l, l + sh.E), z = 0;
        for (int e = 0; e < sh.E; e++) z += std::exp(l[e] - m);
        for (int e = 0; e < sh.E; e++) s[e] = c[e] = (float)(std::exp(l[e] - m) / z);
    } else {
        for (int e = 0; e < sh.E; e++) {
            s[e] = (float)(1.0 / (1.0 + std::exp(-l[e])));
            c[e] = bias ? s[e] + bias[e] : s[e];
        }
    }
}

// indices 0..n-1 by value descending, lower index first on equal values
static std::vector<int> byValueDesc(const float* v, int n) {
    std::vector<int> o(n);
    std::iota(o.begin(), o.end(), 0);
    std::stable_sort(o.begin(), o.end(), [&](int a, int b) { return v[a] > v[b]; });
    return o;
}

struct Margins { float select, group, order; }; // the reference's smallest gaps (for the float32 comparison)

// group limiting, top-k, weights and order from fp32 scores, as router_grouped.cuh's header states them
static Margins cpuSelect(const float* s, const float* cIn, const Shape& sh, int* ids, float* w) {
    int E = sh.E, K = sh.K;
    std::vector<float> c(cIn, cIn + E);
    Margins mg{INFINITY, INFINITY, INFINITY};
    if (sh.nGroup > 1 && sh.topkGroup < sh.nGroup) {
        int gs = E / sh.nGroup;
        std::vector<float> gsc(sh.nGroup);
        for (int g = 0; g < sh.nGroup; g++) {
            auto o = byValueDesc(c.data() + g * gs, gs);
            gsc[g] = sh.kind == ROUTE_SOFTMAX ? c[g * gs + o[0]] : c[g * gs + o[0]] + c[g * gs + o[1]];
        }
        auto go = byValueDesc(gsc.data(), sh.nGroup);
        mg.group = gsc[go[sh.topkGroup - 1]] - gsc[go[sh.topkGroup]];
        std::vector<bool> keep(sh.nGroup, false);
        for (int j = 0; j < sh.topkGroup; j++) keep[go[j]] = true;
        for (int e = 0; e < E; e++)
            if (!keep[e / gs]) c[e] = sh.kind == ROUTE_SOFTMAX ? 0.f : -INFINITY;
    }
    auto o = byValueDesc(c.data(), E);
    if (K < E) mg.select = c[o[K - 1]] - c[o[K]];
    std::vector<float> wk(K);
    std::vector<int> sel(o.begin(), o.begin() + K);
    for (int k = 0; k < K; k++) wk[k] = sh.kind == ROUTE_SOFTMAX ? c[sel[k]] : s[sel[k]];
    std::vector<int> ord(K); // listed by weight descending, lower expert id first on equal weight
    std::iota(ord.begin(), ord.end(), 0);
    std::sort(ord.begin(), ord.end(), [&](int a, int b) { return wk[a] > wk[b] || (wk[a] == wk[b] && sel[a] < sel[b]); });
    for (int k = 0; k < K; k++) {
        ids[k] = sel[ord[k]];
        w[k] = wk[ord[k]];
    }
    for (int k = 0; k + 1 < K; k++) mg.order = std::min(mg.order, w[k] - w[k + 1]);
    if (sh.normTopk) {
        float sum = 0.f;
        for (int k = 0; k < K; k++) sum += w[k];
        float denom = sum + sh.normEps;
        for (int k = 0; k < K; k++) w[k] = w[k] / denom;
    }
    for (int k = 0; k < K; k++) w[k] = w[k] * sh.scaling;
    return mg;
}

// ---- the CPU reference on hand-worked cases (runs before any device call, so also without a GPU) ----
static bool cpuCase(const char* what, const Shape& sh, std::vector<float> s, std::vector<float> c,
                    std::vector<int> wantIds, std::vector<float> wantW) {
    std::vector<int> ids(sh.K);
    std::vector<float> w(sh.K);
    cpuSelect(s.data(), c.data(), sh, ids.data(), w.data());
    bool good = ids == wantIds;
    for (int k = 0; k < sh.K; k++) good &= std::fabs(w[k] - wantW[k]) <= 1e-6f;
    printf("  CPU reference, %s: ids", what);
    for (int k = 0; k < sh.K; k++) printf(" %d:%.7g", ids[k], w[k]);
    printf(" -> %s\n", good ? "as worked by hand" : "WRONG");
    return good;
}
static bool cpuSelfTest() {
    printf("CPU reference self-test\n");
    bool good = true;
    // sigmoid + bias, 4 groups of 2, keep 2: scores on a 1/8 grid (exact sums). Biased c = s + (0.5 on expert 4):
    // group sums 1.0, 1.0, 1.5, 0.75 -> groups 2 and 0 (0 before 1 on the tie); candidates 0 (.875), 1, 4 (.75),
    // 5 (.75); top-3 by c: 0, then 4 before 5 on the tie; listed by unbiased weight: 0 (.875), 5 (.75), 4 (.25);
    // normalised by 1.875 (+ 1e-20), times 2.
    std::vector<float> s1 = {0.875f, 0.125f, 0.5f, 0.5f, 0.25f, 0.75f, 0.375f, 0.375f}, c1 = s1;
    c1[4] += 0.5f;
    Shape v3{"v3-case", 8, 8, 3, ROUTE_SIGMOID_BIAS, 4, 2, 1, 1e-20f, 2.0f, true, false};
    good &= cpuCase("sigmoid + bias, ties, order by weight", v3, s1, c1, {0, 5, 4},
                    {0.875f / 1.875f * 2, 0.75f / 1.875f * 2, 0.25f / 1.875f * 2});
    // softmax, 2 groups of 2, keep 1 (group max .2 vs .4 -> group 1), top-3: 3, 2, then the masked zeros 0 and 1
    // (transformers' masked_fill 0.0) -> 0 on the tie, weight 0; times 16, no normalisation (DeepSeek-V2)
    std::vector<float> s2 = {0.125f, 0.25f, 0.375f, 0.5f};
    Shape v2{"v2-case", 8, 4, 3, ROUTE_SOFTMAX, 2, 1, 0, 0.f, 16.0f, false, false};
    good &= cpuCase("softmax group-limited, masked zero picked", v2, s2, s2, {3, 2, 0}, {8.f, 6.f, 0.f});
    // Qwen2-MoE: softmax top-2, renormalised without epsilon
    Shape q2{"q2-case", 8, 4, 2, ROUTE_SOFTMAX, 1, 1, 1, 0.f, 1.0f, false, true};
    good &= cpuCase("softmax top-k, norm_topk_prob", q2, s2, s2, {3, 2}, {0.5f / 0.875f, 0.375f / 0.875f});
    return good;
}

// ---- the kernel's selection alone, on given scores (part 1) ----
__global__ void x_router_select(const float* s, const float* c, int E, int K, int kind, int nGroup, int topkGroup,
                                int normTopk, float normEps, float scaling, int* ids, float* w) {
    __shared__ float ls[ROUTER_MAXE], lc[ROUTER_MAXE], gsc[RG_MAXG];
    __shared__ int gok[RG_MAXG], idsS[RG_MAXK];
    __shared__ float wsS[RG_MAXK];
    int t = blockIdx.x;
    for (int e = threadIdx.x; e < E; e += blockDim.x) {
        ls[e] = s[(size_t)t * E + e];
        lc[e] = c[(size_t)t * E + e];
    }
    __syncthreads();
    routerSelect(ls, lc, E, K, kind, nGroup, topkGroup, normTopk, normEps, scaling, gsc, gok, idsS, wsS);
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
        ids[t * K + k] = idsS[k];
        w[t * K + k] = wsS[k];
    }
}

static bool checkSelect(const Shape& sh, int T, bool grid, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    std::uniform_int_distribution<int> q(0, 15), qb(-4, 4);
    std::vector<float> s((size_t)T * sh.E), c(s.size());
    for (size_t i = 0; i < s.size(); i++) {
        s[i] = grid ? q(rng) / 16.f : u(rng);
        float b = sh.bias ? (grid ? qb(rng) / 64.f : 0.1f * (u(rng) - 0.5f)) : 0.f;
        c[i] = sh.kind == ROUTE_SOFTMAX ? s[i] : s[i] + b;
    }
    int *dIds;
    float* dW;
    CK(cudaMalloc(&dIds, (size_t)T * sh.K * 4));
    CK(cudaMalloc(&dW, (size_t)T * sh.K * 4));
    x_router_select<<<T, 512>>>(dev(s), dev(c), sh.E, sh.K, sh.kind, sh.nGroup, sh.topkGroup, sh.normTopk,
                                sh.normEps, sh.scaling, dIds, dW);
    CK(cudaDeviceSynchronize());
    auto gi = toHost(dIds, (size_t)T * sh.K);
    auto gw = toHost(dW, (size_t)T * sh.K);
    int bad = 0, tied = 0;
    std::vector<int> ids(sh.K);
    std::vector<float> w(sh.K);
    for (int t = 0; t < T; t++) {
        Margins m = cpuSelect(&s[(size_t)t * sh.E], &c[(size_t)t * sh.E], sh, ids.data(), w.data());
        if (m.select == 0.f || m.group == 0.f || m.order == 0.f) tied++;
        if (memcmp(ids.data(), &gi[(size_t)t * sh.K], sh.K * 4) || memcmp(w.data(), &gw[(size_t)t * sh.K], sh.K * 4)) {
            if (bad++ < 3) {
                printf("    token %d: cpu", t);
                for (int k = 0; k < sh.K; k++) printf(" %d:%.9g", ids[k], w[k]);
                printf("\n             gpu");
                for (int k = 0; k < sh.K; k++) printf(" %d:%.9g", gi[(size_t)t * sh.K + k], gw[(size_t)t * sh.K + k]);
                printf("\n");
            }
        }
    }
    printf("  selection %-6s %s (%d tokens, %d with equal scores at a boundary)\n", grid ? "ties" : "random",
           bad ? "DIFFERENT" : "bit-identical", T, tied);
    return bad == 0;
}

// ---- the whole kernel against the double-precision reference (part 2) and its timing (part 3) ----
struct Inputs {
    float* xn;
    bf16* Wr;
    float* bias;
    bf16* gateW;
    std::vector<float> hx, hw, hb, hg; // host copies (weights as the exact fp32 of their bf16)
};

static std::vector<float> bf16Round(std::vector<float> v) {
    for (auto& x : v) x = __bfloat162float(__float2bfloat16_rn(x));
    return v;
}
static bf16* devBf16(const std::vector<float>& v) {
    std::vector<bf16> b(v.size());
    for (size_t i = 0; i < v.size(); i++) b[i] = __float2bfloat16_rn(v[i]);
    return dev(b);
}

static Inputs makeInputs(const Shape& sh, int T, unsigned seed) {
    Inputs in;
    in.hx = normal((size_t)T * sh.H, seed);
    in.hw = bf16Round(normal((size_t)sh.E * sh.H, seed + 1, 0.f, 1.f / std::sqrt((float)sh.H)));
    in.hb = normal(sh.E, seed + 2, 0.f, 0.05f);
    in.hg = bf16Round(normal(sh.H, seed + 3, 0.f, 1.f / std::sqrt((float)sh.H)));
    in.xn = dev(in.hx);
    in.Wr = devBf16(in.hw);
    in.bias = sh.bias ? dev(in.hb) : nullptr;
    in.gateW = sh.sharedGate ? devBf16(in.hg) : nullptr;
    return in;
}

static bool checkFull(const Shape& sh, int T, unsigned seed) {
    Inputs in = makeInputs(sh, T, seed);
    int numMoe = 3, moeSlot = 1;
    int *dIds, *dRec;
    float *dW, *dGate;
    CK(cudaMalloc(&dIds, (size_t)T * sh.K * 4));
    CK(cudaMalloc(&dW, (size_t)T * sh.K * 4));
    CK(cudaMalloc(&dGate, (size_t)T * 4));
    CK(cudaMalloc(&dRec, (size_t)T * 2 * numMoe * sh.K * 4));
    CK(cudaMemset(dRec, 0xff, (size_t)T * 2 * numMoe * sh.K * 4));
    router_grouped<<<T, 512>>>(in.xn, in.Wr, in.bias, in.gateW, sh.E, sh.H, sh.K, sh.kind, sh.nGroup, sh.topkGroup,
                               sh.normTopk, sh.normEps, sh.scaling, moeSlot, numMoe, dIds, dW, dGate, dRec);
    CK(cudaDeviceSynchronize());
    auto gi = toHost(dIds, (size_t)T * sh.K);
    auto gw = toHost(dW, (size_t)T * sh.K);
    auto gg = toHost(dGate, (size_t)T);
    auto rec = toHost(dRec, (size_t)T * 2 * numMoe * sh.K);
    router_grouped<<<T, 1024>>>(in.xn, in.Wr, in.bias, in.gateW, sh.E, sh.H, sh.K, sh.kind, sh.nGroup, sh.topkGroup,
                                sh.normTopk, sh.normEps, sh.scaling, moeSlot, numMoe, dIds, dW, dGate, dRec);
    CK(cudaDeviceSynchronize());
    bool sameThreads = toHost(dIds, (size_t)T * sh.K) == gi &&
                       memcmp(toHost(dW, (size_t)T * sh.K).data(), gw.data(), gw.size() * 4) == 0 &&
                       memcmp(toHost(dGate, (size_t)T).data(), gg.data(), gg.size() * 4) == 0;
    int idsEqual = 0, nearTie = 0, bad = 0, recBad = 0;
    double maxWDiff = 0, maxGateDiff = 0;
    std::vector<double> l(sh.E);
    std::vector<float> s(sh.E), c(sh.E), w(sh.K);
    std::vector<int> ids(sh.K);
    for (int t = 0; t < T; t++) {
        const float* x = &in.hx[(size_t)t * sh.H];
        for (int e = 0; e < sh.E; e++) {
            double a = 0;
            for (int h = 0; h < sh.H; h++) a += (double)in.hw[(size_t)e * sh.H + h] * x[h];
            l[e] = a;
        }
        cpuScores(l.data(), sh.bias ? in.hb.data() : nullptr, sh, s.data(), c.data());
        Margins m = cpuSelect(s.data(), c.data(), sh, ids.data(), w.data());
        const int* g = &gi[(size_t)t * sh.K];
        const float* gwt = &gw[(size_t)t * sh.K];
        if (memcmp(ids.data(), g, sh.K * 4) == 0) {
            idsEqual++;
            for (int k = 0; k < sh.K; k++) maxWDiff = std::max(maxWDiff, (double)std::fabs(w[k] - gwt[k]) / sh.scaling);
        } else if (std::min(m.select, std::min(m.group, m.order)) < 1e-5f) {
            nearTie++;
        } else if (bad++ < 3) {
            printf("    token %d: cpu", t);
            for (int k = 0; k < sh.K; k++) printf(" %d:%.7g", ids[k], w[k]);
            printf("\n             gpu");
            for (int k = 0; k < sh.K; k++) printf(" %d:%.7g", g[k], gwt[k]);
            printf("   (margins %.3g %.3g %.3g)\n", m.select, m.group, m.order);
        }
        if (sh.sharedGate) {
            double a = 0;
            for (int h = 0; h < sh.H; h++) a += (double)in.hg[h] * x[h];
            maxGateDiff = std::max(maxGateDiff, std::fabs(1.0 / (1.0 + std::exp(-a)) - gg[t]));
        }
        const int* r = &rec[(size_t)t * 2 * numMoe * sh.K];
        if (memcmp(r + moeSlot * sh.K, g, sh.K * 4) || memcmp(r + numMoe * sh.K + moeSlot * sh.K, gwt, sh.K * 4))
            recBad++;
    }
    bool ok = bad == 0 && recBad == 0 && sameThreads && maxWDiff <= 1e-5 && maxGateDiff <= 1e-5 && nearTie * 100 <= T;
    printf("  kernel vs CPU: ids equal %d / %d, near ties %d, other %d; max |dw| / scaling %.2e; gate %.2e; "
           "record %s; 512 vs 1024 threads %s -> %s\n",
           idsEqual, T, nearTie, bad, maxWDiff, maxGateDiff, recBad ? "DIFFERENT" : "same",
           sameThreads ? "same" : "DIFFERENT", ok ? "ok" : "FAILED");
    return ok;
}

static bool checkAgainstTopk(const Shape& sh, int T, unsigned seed) {
    Inputs in = makeInputs(sh, T, seed);
    int numMoe = 1;
    int *dIds, *dIds2, *dRec;
    float *dW, *dW2;
    CK(cudaMalloc(&dIds, (size_t)T * sh.K * 4));
    CK(cudaMalloc(&dIds2, (size_t)T * sh.K * 4));
    CK(cudaMalloc(&dW, (size_t)T * sh.K * 4));
    CK(cudaMalloc(&dW2, (size_t)T * sh.K * 4));
    CK(cudaMalloc(&dRec, (size_t)T * 2 * sh.K * 4));
    bool ok = true;
    for (int norm = 0; norm < 2; norm++) {
        router_topk<<<T, 512>>>(in.xn, in.Wr, sh.E, sh.H, sh.K, norm, 0, numMoe, dIds, dW, dRec);
        router_grouped<<<T, 512>>>(in.xn, in.Wr, nullptr, nullptr, sh.E, sh.H, sh.K, ROUTE_SOFTMAX, 1, 1, norm, 0.f,
                                   1.0f, 0, numMoe, dIds2, dW2, nullptr, nullptr);
        CK(cudaDeviceSynchronize());
        ok &= toHost(dIds, (size_t)T * sh.K) == toHost(dIds2, (size_t)T * sh.K) && sameAll(dW, dW2, (long long)T * sh.K);
    }
    printf("  as softmax top-k vs router_topk (%d tokens, norm 0 and 1): %s\n", T, ok ? "bit-identical" : "DIFFERENT");
    return ok;
}

// ---- routing replay (part 4) ----
// the CPU reference's weights for given ids (RouterKind.weigh): scores gathered, renormalised (sum in the given
// order, + normEps) when normTopk, times scaling
static void cpuWeigh(const float* s, const int* ids, const Shape& sh, float* w) {
    for (int k = 0; k < sh.K; k++) w[k] = s[ids[k]];
    if (sh.normTopk) {
        float sum = 0.f;
        for (int k = 0; k < sh.K; k++) sum += w[k];
        sum += sh.normEps;
        for (int k = 0; k < sh.K; k++) w[k] /= sum;
    }
    for (int k = 0; k < sh.K; k++) w[k] *= sh.scaling;
}

static int shared(const int* a, const int* b, int K) {
    int n = 0;
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++)
            if (a[i] == b[j]) { n++; break; }
    return n;
}

static bool checkForced(const Shape& sh, int T, unsigned seed) {
    Inputs in = makeInputs(sh, T, seed);
    int numMoe = 3, moeSlot = 1, K = sh.K;
    size_t recWords = (size_t)T * 2 * numMoe * K;
    int *dIds, *dRec, *dIdsF, *dRecF, *dRep;
    float *dW, *dWF, *dGate, *dGateF;
    CK(cudaMalloc(&dIds, (size_t)T * K * 4));
    CK(cudaMalloc(&dIdsF, (size_t)T * K * 4));
    CK(cudaMalloc(&dW, (size_t)T * K * 4));
    CK(cudaMalloc(&dWF, (size_t)T * K * 4));
    CK(cudaMalloc(&dGate, (size_t)T * 4));
    CK(cudaMalloc(&dGateF, (size_t)T * 4));
    CK(cudaMalloc(&dRec, recWords * 4));
    CK(cudaMalloc(&dRecF, recWords * 4));
    CK(cudaMalloc(&dRep, (size_t)T * numMoe * 4));
    CK(cudaMemset(dRec, 0, recWords * 4));
    router_grouped<<<T, 512>>>(in.xn, in.Wr, in.bias, in.gateW, sh.E, sh.H, K, sh.kind, sh.nGroup, sh.topkGroup,
                               sh.normTopk, sh.normEps, sh.scaling, moeSlot, numMoe, dIds, dW, dGate, dRec);
    CK(cudaDeviceSynchronize());
    auto freeIds = toHost(dIds, (size_t)T * K);
    auto freeW = toHost(dW, (size_t)T * K);
    auto freeRec = toHost(dRec, recWords);
    auto freeGate = toHost(dGate, (size_t)T);
    // every other token forced: row r = t / 2 of the forced ids [row][numMoe][K]
    std::vector<int> row(T), forced((size_t)(T / 2 + 1) * numMoe * K, 0);
    for (int t = 0; t < T; t++) row[t] = t % 2 == 0 ? t / 2 : -1;
    auto runForced = [&](bool topk, int norm) {
        CK(cudaMemset(dRecF, 0, recWords * 4));
        CK(cudaMemset(dRep, 0xff, (size_t)T * numMoe * 4));
        int* dRowP = dev(row);
        int* dForcedP = dev(forced);
        if (topk)
            router_topk_forced<<<T, 512>>>(in.xn, in.Wr, sh.E, sh.H, K, norm, moeSlot, numMoe, dIdsF, dWF, dRecF,
                                           dRowP, dForcedP, dRep);
        else
            router_grouped_forced<<<T, 512>>>(in.xn, in.Wr, in.bias, in.gateW, sh.E, sh.H, K, sh.kind, sh.nGroup,
                                              sh.topkGroup, norm, sh.normEps, sh.scaling, moeSlot, numMoe, dIdsF,
                                              dWF, dGateF, dRecF, dRowP, dForcedP, dRep);
        CK(cudaDeviceSynchronize());
    };
    // (a) the free kernel's own ids forced
    for (int t = 0; t < T; t += 2)
        memcpy(&forced[((size_t)(t / 2) * numMoe + moeSlot) * K], &freeIds[(size_t)t * K], K * 4);
    runForced(false, sh.normTopk);
    auto rep = toHost(dRep, (size_t)T * numMoe);
    bool own = toHost(dIdsF, (size_t)T * K) == freeIds &&
               memcmp(toHost(dWF, (size_t)T * K).data(), freeW.data(), freeW.size() * 4) == 0 &&
               toHost(dRecF, recWords) == freeRec &&
               (!sh.sharedGate || memcmp(toHost(dGateF, (size_t)T).data(), freeGate.data(), T * 4) == 0);
    for (int t = 0; t < T; t += 2) own &= rep[(size_t)(t / 2) * numMoe + moeSlot] == K;
    // (b) random distinct ids forced: the CPU reference's weights, the free ids counted
    std::mt19937 rng(seed + 100);
    for (int t = 0; t < T; t += 2) {
        std::vector<int> perm(sh.E);
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), rng);
        memcpy(&forced[((size_t)(t / 2) * numMoe + moeSlot) * K], perm.data(), K * 4);
    }
    runForced(false, sh.normTopk);
    auto gi = toHost(dIdsF, (size_t)T * K);
    auto gw = toHost(dWF, (size_t)T * K);
    auto grec = toHost(dRecF, recWords);
    rep = toHost(dRep, (size_t)T * numMoe);
    int idsBad = 0, countBad = 0, freeBad = 0, recBad = 0;
    double maxWDiff = 0;
    std::vector<double> l(sh.E);
    std::vector<float> s(sh.E), c(sh.E), w(K);
    for (int t = 0; t < T; t++) {
        const int* g = &gi[(size_t)t * K];
        const int* r = &grec[(size_t)t * 2 * numMoe * K];
        if (memcmp(r + moeSlot * K, g, K * 4) || memcmp(r + numMoe * K + moeSlot * K, &gw[(size_t)t * K], K * 4))
            recBad++;
        if (t % 2) {
            freeBad += memcmp(g, &freeIds[(size_t)t * K], K * 4) || memcmp(&gw[(size_t)t * K], &freeW[(size_t)t * K], K * 4);
            continue;
        }
        const int* f = &forced[((size_t)(t / 2) * numMoe + moeSlot) * K];
        idsBad += memcmp(g, f, K * 4) != 0;
        countBad += rep[(size_t)(t / 2) * numMoe + moeSlot] != shared(&freeIds[(size_t)t * K], f, K);
        const float* x = &in.hx[(size_t)t * sh.H];
        for (int e = 0; e < sh.E; e++) {
            double a = 0;
            for (int h = 0; h < sh.H; h++) a += (double)in.hw[(size_t)e * sh.H + h] * x[h];
            l[e] = a;
        }
        cpuScores(l.data(), sh.bias ? in.hb.data() : nullptr, sh, s.data(), c.data());
        cpuWeigh(s.data(), f, sh, w.data());
        for (int k = 0; k < K; k++)
            maxWDiff = std::max(maxWDiff, (double)std::fabs(w[k] - gw[(size_t)t * K + k]) / sh.scaling);
    }
    bool randomOk = idsBad == 0 && countBad == 0 && freeBad == 0 && recBad == 0 && maxWDiff <= 1e-5;
    // (c) router_topk_forced = router_grouped_forced as a plain softmax top-k (same random forced ids)
    bool topkSame = true;
    if (sh.E <= ROUTER_MAXE) {
        for (int norm = 0; norm < 2; norm++) {
            runForced(true, norm);
            auto ti = toHost(dIdsF, (size_t)T * K);
            auto tw = toHost(dWF, (size_t)T * K);
            auto trep = toHost(dRep, (size_t)T * numMoe);
            CK(cudaMemset(dRep, 0xff, (size_t)T * numMoe * 4));
            router_grouped_forced<<<T, 512>>>(in.xn, in.Wr, nullptr, nullptr, sh.E, sh.H, K, ROUTE_SOFTMAX, 1, 1, norm,
                                              0.f, 1.0f, moeSlot, numMoe, dIdsF, dWF, nullptr, nullptr, dev(row),
                                              dev(forced), dRep);
            CK(cudaDeviceSynchronize());
            topkSame &= ti == toHost(dIdsF, (size_t)T * K) && trep == toHost(dRep, (size_t)T * numMoe) &&
                        memcmp(tw.data(), toHost(dWF, (size_t)T * K).data(), tw.size() * 4) == 0;
        }
    }
    printf("  forced (every other of %d tokens): own ids = free bit for bit %s; random ids: ids %s, weights vs CPU "
           "max |dw| / scaling %.2e, reproduced counts %s, free tokens %s, record %s; router_topk_forced = "
           "router_grouped_forced (softmax top-k, norm 0 and 1) %s -> %s\n", T, own ? "yes" : "NO",
           idsBad ? "DIFFERENT" : "as forced", maxWDiff, countBad ? "WRONG" : "exact", freeBad ? "CHANGED" : "unchanged",
           recBad ? "DIFFERENT" : "same", topkSame ? "bit-identical" : "DIFFERENT",
           own && randomOk && topkSame ? "ok" : "FAILED");
    return own && randomOk && topkSame;
}

static void timeShape(const Shape& sh, int T) {
    Inputs in = makeInputs(sh, T, 7);
    int numMoe = 3;
    int *dIds, *dRec;
    float *dW, *dGate;
    CK(cudaMalloc(&dIds, (size_t)T * sh.K * 4));
    CK(cudaMalloc(&dW, (size_t)T * sh.K * 4));
    CK(cudaMalloc(&dGate, (size_t)T * 4));
    CK(cudaMalloc(&dRec, (size_t)T * 2 * numMoe * sh.K * 4));
    int sms;
    CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    int threads = T > sms && sh.E <= 512 ? 512 : 1024; // ForwardPass's rule for router_topk
    double grouped = timeIt([&] {
        router_grouped<<<T, threads>>>(in.xn, in.Wr, in.bias, in.gateW, sh.E, sh.H, sh.K, sh.kind, sh.nGroup,
                                       sh.topkGroup, sh.normTopk, sh.normEps, sh.scaling, 1, numMoe, dIds, dW, dGate,
                                       dRec);
    }, 50, 20);
    double topk = timeIt([&] {
        router_topk<<<T, threads>>>(in.xn, in.Wr, sh.E, sh.H, sh.K, sh.normTopk, 1, numMoe, dIds, dW, dRec);
    }, 50, 20);
    std::vector<int> row(T), forced((size_t)T * numMoe * sh.K);
    for (int t = 0; t < T; t++) row[t] = t;
    for (size_t i = 0; i < forced.size(); i++) forced[i] = (int)(i % sh.K) * (sh.E / sh.K);
    int *dRow = dev(row), *dForced = dev(forced), *dRep;
    CK(cudaMalloc(&dRep, (size_t)T * numMoe * 4));
    double groupedForced = timeIt([&] {
        router_grouped_forced<<<T, threads>>>(in.xn, in.Wr, in.bias, in.gateW, sh.E, sh.H, sh.K, sh.kind, sh.nGroup,
                                              sh.topkGroup, sh.normTopk, sh.normEps, sh.scaling, 1, numMoe, dIds, dW,
                                              dGate, dRec, dRow, dForced, dRep);
    }, 50, 20);
    double topkForced = timeIt([&] {
        router_topk_forced<<<T, threads>>>(in.xn, in.Wr, sh.E, sh.H, sh.K, sh.normTopk, 1, numMoe, dIds, dW, dRec,
                                           dRow, dForced, dRep);
    }, 50, 20);
    double gb = ((double)sh.E * sh.H * 2 + (double)T * sh.H * 4) / 1e9;
    printf("  T %4d: router_grouped %7.2f us (%5.2f TB/s of router weights + inputs), router_topk %7.2f us; "
           "all forced: %7.2f / %7.2f us\n", T, grouped, gb / (grouped * 1e-6) / 1e3, topk, groupedForced, topkForced);
}

int main(int argc, char** argv) {
    std::vector<int> tokens;
    for (int i = 1; i < argc; i++) tokens.push_back(atoi(argv[i]));
    if (tokens.empty()) tokens = {1, 32, 256};
    bool ok = cpuSelfTest();
    unsigned seed = 1;
    for (const Shape& sh : SHAPES) {
        printf("%s: H %d, E %d, top-%d, %s, groups %d / %d, norm %d, scaling %g%s\n", sh.name, sh.H, sh.E, sh.K,
               sh.kind == ROUTE_SOFTMAX ? "softmax" : "sigmoid + bias", sh.topkGroup, sh.nGroup, sh.normTopk,
               sh.scaling, sh.sharedGate ? ", shared-expert gate" : "");
        ok &= checkSelect(sh, 4096, false, seed++);
        ok &= checkSelect(sh, 4096, true, seed++);
        ok &= checkFull(sh, 1024, seed++);
        ok &= checkAgainstTopk(sh, 1024, seed++);
        ok &= checkForced(sh, 1024, seed++);
        for (int T : tokens) timeShape(sh, T);
    }
    printf(ok ? "all checks passed\n" : "SOME CHECKS FAILED\n");
    return ok ? 0 : 1;
}
