// Check and micro-benchmark of sample_tokens (gpu-runtime/src/main/cuda/kernels/sampling.cuh), whose top-p and draw
// bisections resolve four bits of the ordered logit key per block-wide pass (massesAbove16) instead of one.
//   1. bit for bit against sample_tokens_v1 below, a verbatim copy of the kernel before that change (one bit per
//      pass, massAbove): token and logprob bits of every row, for vocab 151,936 and 1,000, rows of random normal
//      logits × scales 0.3 .. 30, rows on coarse grids (many exactly equal logits), a constant row, rows with
//      extreme values (±1e4, -inf entries, one huge logit), temperatures 0 / 0.5 / 1 / 1.5, top_k 0 / 1 / 50,
//      top_p 1 / 0.9 / 0.5, random seeds and sample indices (every row of a launch its own combination).
//   2. a few rows (vocab 1,000, distinct logits) against a CPU reference of the rule in double (sampler.Sampler):
//      the token equal unless the reference flips when its draw or top_p moves by 1e-9 (a summation-order margin),
//      the logprob within 1e-4.
//   3. timing (cudaEvent, median of 21) of v1 and the current kernel at the given row counts, vocab 151,936,
//      temperature 1, top_p 1 and 0.9.
// On the GPU machine: bench/cuda/run-bench.sh sampling_bench [rows ...]   (default 32 128). Exits 1 on any mismatch.
#include "../../gpu-runtime/src/main/cuda/kernels.cu"
#include "bench_util.cuh"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

// ---- the kernel as it was at 3fe3281 (verbatim, renamed with its two double helpers) ----
__device__ double blockSumD_v1(double v, double* scratch) {
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

__device__ double massAbove_v1(const float* l, int V, uint32_t thr, double invT, double maxS, double* scratch) {
    double c = 0.0;
    for (int i = threadIdx.x; i < V; i += blockDim.x)
        if (orderedKey(l[i]) >= thr) c += exp((double)l[i] * invT - maxS);
    return blockSumD_v1(c, scratch);
}

extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS)
sample_tokens_v1(const float* logits, int V, const int* params, int* outTok, float* outLogp) {
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
        double kept = massAbove_v1(l, V, thrK, invT, maxS, dscratch);
        uint32_t thrP = thrK;
        if (topP < 1.f) {
            // the largest threshold whose mass still reaches topP of the top-k mass
            double need = (double)topP * kept;
            uint32_t lo = 0;
            for (int bit = 31; bit >= 0; bit--) {
                uint32_t cand = lo | (1u << bit);
                if (massAbove_v1(l, V, max(cand, thrK), invT, maxS, dscratch) >= need) lo = cand;
            }
            thrP = max(lo, thrK);
            kept = massAbove_v1(l, V, thrP, invT, maxS, dscratch);
        }
        uint64_t bits = splitMix64(seed ^ splitMix64((uint64_t)(int64_t)sampleIndex));
        double u = (double)(bits >> 11) * (1.0 / 9007199254740992.0);
        double target = u * kept;
        uint32_t sel = 0;
        for (int bit = 31; bit >= 0; bit--) {
            uint32_t cand = sel | (1u << bit);
            if (massAbove_v1(l, V, max(cand, thrP), invT, maxS, dscratch) > target) sel = cand;
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

// ---- host side ----
static int fbits(float f) {
    int i;
    memcpy(&i, &f, 4);
    return i;
}

static const float TEMPS[] = {0.f, 0.5f, 1.f, 1.5f};
static const int TOPKS[] = {0, 1, 50};
static const float TOPPS[] = {1.f, 0.9f, 0.5f};
static const int NCONF = 4 * 3 * 3;

// row kinds: 0..4 normal × scale, 5 grid of 1/4 (ties), 6 grid of 2 (many ties), 7 constant, 8 extreme values
static const int NKIND = 9;
static void fillRow(float* row, int V, int kind, std::mt19937& rng) {
    static const float SCALES[] = {0.3f, 1.f, 3.f, 10.f, 30.f};
    std::normal_distribution<float> nd(0.f, 1.f);
    for (int i = 0; i < V; i++) {
        float x = nd(rng);
        if (kind < 5) row[i] = x * SCALES[kind];
        else if (kind == 5) row[i] = std::round(x * 4.f) / 4.f;
        else if (kind == 6) row[i] = std::round(x) * 2.f;
        else if (kind == 7) row[i] = 1.25f;
        else row[i] = x * 3.f;
    }
    if (kind == 8) {
        std::uniform_int_distribution<int> pos(0, V - 1);
        for (int k = 0; k < 8; k++) row[pos(rng)] = -INFINITY;
        for (int k = 0; k < 8; k++) row[pos(rng)] = -1e4f;
        for (int k = 0; k < 4; k++) row[pos(rng)] = 1e4f * (k == 0 ? 1.f : 0.999f);
        if (rng() & 1) row[pos(rng)] = 40.f;
    }
}

static void setParams(int* p, int conf, uint64_t seed, int index) {
    int t = conf % 4, k = (conf / 4) % 3, q = conf / 12;
    p[0] = fbits(TEMPS[t]);
    p[1] = fbits(TOPPS[q]);
    p[2] = TOPKS[k];
    p[3] = (int)(uint32_t)seed;
    p[4] = (int)(uint32_t)(seed >> 32);
    p[5] = index;
}

static uint64_t splitMix64Host(uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// sampler.Sampler.draw, written from the Java (double probabilities, walk by logit descending, id ascending);
// eu / ep move the draw and top_p by that much (margin probes)
static int cpuDraw(const float* l, int V, float temp, int topK, float topP, uint64_t seed, int index, double eu,
                   double ep) {
    std::vector<int> order(V);
    for (int i = 0; i < V; i++) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return l[a] > l[b]; });
    int keep = topK > 0 ? std::min(topK, V) : V;
    std::vector<double> probs(keep);
    double mx = l[order[0]] / (double)temp, total = 0;
    for (int i = 0; i < keep; i++) {
        probs[i] = std::exp(l[order[i]] / (double)temp - mx);
        total += probs[i];
    }
    if (topP < 1.f) {
        double cum = 0;
        int cut = keep;
        for (int i = 0; i < keep; i++) {
            cum += probs[i] / total;
            if (cum >= (double)topP + ep) {
                cut = i + 1;
                break;
            }
        }
        keep = cut;
        total = 0;
        for (int i = 0; i < keep; i++) total += probs[i];
    }
    uint64_t bits = splitMix64Host(seed ^ splitMix64Host((uint64_t)(int64_t)index));
    double u = (double)(bits >> 11) * 0x1.0p-53;
    double target = (u + eu) * total;
    double cum = 0;
    for (int i = 0; i < keep; i++) {
        cum += probs[i];
        if (target < cum) return order[i];
    }
    return order[keep - 1];
}

static double cpuLogprob(const float* l, int V, int tok) {
    double mx = -INFINITY, s = 0;
    for (int i = 0; i < V; i++) mx = std::max(mx, (double)l[i]);
    for (int i = 0; i < V; i++) s += std::exp(l[i] - mx);
    return l[tok] - mx - std::log(s);
}

int main(int argc, char** argv) {
    std::vector<int> timeRows;
    for (int a = 1; a < argc; a++) timeRows.push_back(atoi(argv[a]));
    if (timeRows.empty()) timeRows = {32, 128};
    long long checked = 0, mismatches = 0, cpuChecked = 0, cpuFail = 0, cpuMargin = 0;
    std::mt19937_64 seeds(12345);

    // 1. v1 versus the current kernel, bit for bit
    const int VOCABS[] = {151936, 1000};
    for (int V : VOCABS) {
        const int R = V > 10000 ? 72 : 360; // rows per launch; each row kind r % NKIND
        const int LAUNCHES = V > 10000 ? 24 : 40;
        std::vector<float> h((size_t)R * V);
        float* dl;
        int *dp, *t1, *t2;
        float *p1, *p2;
        CK(cudaMalloc(&dl, h.size() * 4));
        CK(cudaMalloc(&dp, R * 6 * 4));
        CK(cudaMalloc(&t1, R * 4));
        CK(cudaMalloc(&t2, R * 4));
        CK(cudaMalloc(&p1, R * 4));
        CK(cudaMalloc(&p2, R * 4));
        std::vector<int> par(R * 6);
        for (int L = 0; L < LAUNCHES; L++) {
            std::mt19937 rng(1000 * V + L);
            if (L % 4 == 0) { // new logits every 4 launches; params change every launch
                for (int r = 0; r < R; r++) fillRow(&h[(size_t)r * V], V, r % NKIND, rng);
                put(dl, h);
            }
            for (int r = 0; r < R; r++) {
                uint64_t seed = seeds();
                int index = (int)(seeds() % 100000);
                setParams(&par[r * 6], (r / NKIND + L) % NCONF, seed, index);
            }
            put(dp, par);
            sample_tokens_v1<<<R, SAMPLE_THREADS>>>(dl, V, dp, t1, p1);
            sample_tokens<<<R, SAMPLE_THREADS>>>(dl, V, dp, t2, p2);
            CK(cudaDeviceSynchronize());
            auto a = toHost(t1, R), b = toHost(t2, R);
            auto la = toHost(p1, R), lb = toHost(p2, R);
            for (int r = 0; r < R; r++) {
                checked++;
                if (a[r] != b[r] || fbits(la[r]) != fbits(lb[r])) {
                    if (mismatches++ < 20)
                        printf("MISMATCH V=%d launch %d row %d kind %d conf %d: v1 %d (%.9g) new %d (%.9g)\n", V, L,
                               r, r % NKIND, (r / NKIND + L) % NCONF, a[r], la[r], b[r], lb[r]);
                }
            }
            // 2. CPU reference: vocab 1,000, the normal rows (distinct logits)
            if (V == 1000 && L % 4 == 0) {
                for (int r = 0; r < R && r < 90; r++) {
                    if (r % NKIND >= 5) continue;
                    const float* l = &h[(size_t)r * V];
                    const int* p = &par[r * 6];
                    float temp, topP;
                    memcpy(&temp, &p[0], 4);
                    memcpy(&topP, &p[1], 4);
                    uint64_t seed = ((uint64_t)(uint32_t)p[4] << 32) | (uint32_t)p[3];
                    int ref = temp > 0.f ? cpuDraw(l, V, temp, p[2], topP, seed, p[5], 0, 0)
                                         : (int)(std::max_element(l, l + V) - l);
                    cpuChecked++;
                    bool ok = ref == b[r];
                    if (!ok && temp > 0.f) {
                        for (int du = -1; du <= 1 && !ok; du++)
                            for (int dq = -1; dq <= 1 && !ok; dq++)
                                ok = cpuDraw(l, V, temp, p[2], topP, seed, p[5], du * 1e-9, dq * 1e-9) == b[r];
                        if (ok) cpuMargin++;
                    }
                    double lp = cpuLogprob(l, V, b[r]);
                    if (!ok || std::fabs(lp - lb[r]) > 1e-4) {
                        if (cpuFail++ < 20)
                            printf("CPU MISMATCH row %d conf %d: cpu %d gpu %d; logprob cpu %.7g gpu %.7g\n", r,
                                   (r / NKIND + L) % NCONF, ref, b[r], lp, lb[r]);
                    }
                }
            }
        }
        printf("vocab %d: %d launches of %d rows checked against v1\n", V, LAUNCHES, R);
        CK(cudaFree(dl));
        CK(cudaFree(dp));
        CK(cudaFree(t1));
        CK(cudaFree(t2));
        CK(cudaFree(p1));
        CK(cudaFree(p2));
    }
    printf("v1 vs new: %lld rows, %lld mismatches; CPU reference: %lld rows, %lld within the 1e-9 margin, %lld "
           "failed\n",
           checked, mismatches, cpuChecked, cpuMargin, cpuFail);

    // 3. timing, vocab 151,936, temperature 1, normal logits × 3
    const int V = 151936;
    for (int R : timeRows) {
        std::vector<float> h((size_t)R * V);
        std::mt19937 rng(7 + R);
        for (int r = 0; r < R; r++) fillRow(&h[(size_t)r * V], V, 2, rng);
        float* dl = dev(h);
        int *dp, *dt;
        float* dlp;
        CK(cudaMalloc(&dp, R * 6 * 4));
        CK(cudaMalloc(&dt, R * 4));
        CK(cudaMalloc(&dlp, R * 4));
        for (float topP : {1.f, 0.9f}) {
            std::vector<int> par(R * 6);
            for (int r = 0; r < R; r++) {
                setParams(&par[r * 6], 2, seeds(), r);
                par[r * 6 + 1] = fbits(topP);
            }
            put(dp, par);
            double t1 = timeIt([&] { sample_tokens_v1<<<R, SAMPLE_THREADS>>>(dl, V, dp, dt, dlp); }, 21, 1);
            double t2 = timeIt([&] { sample_tokens<<<R, SAMPLE_THREADS>>>(dl, V, dp, dt, dlp); }, 21, 1);
            printf("rows %4d  T=1 top_p %.1f: v1 %8.1f us   new %8.1f us   (%.2fx)\n", R, topP, t1, t2, t1 / t2);
        }
        CK(cudaFree(dl));
        CK(cudaFree(dp));
        CK(cudaFree(dt));
        CK(cudaFree(dlp));
    }
    if (mismatches || cpuFail) {
        printf("CHECKS FAILED\n");
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
