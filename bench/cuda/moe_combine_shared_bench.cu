// Micro-benchmark of moe_combine_shared (kernels/moe_combine_shared.cuh: x += routed weighted sum + (gated) shared
// experts' row; DeepSeek-V2/V3, GLM-4.5, Qwen2-MoE) against a CPU reference, beside moe_combine, at the hidden sizes
// and top-k of Qwen1.5-MoE-A2.7B, Qwen2-57B-A14B, GLM-4.5-Air, DeepSeek-V3 and at an odd width (the scalar path).
// Checks, per shape and with and without Qwen2-MoE's per-token gate:
//   1. against the CPU: per element s = sum_k w_k y_k (k in order, fused multiply-add as nvcc contracts it),
//      sh = g * ySh (or ySh), x + (s + sh): max |GPU - CPU| <= TOL (expected 0: the same operations in the same
//      order; printed as "bit-exact" when so);
//   2. with ySh = 0 and no gate it gives moe_combine's bits (the routed sum is moe_combine's arithmetic);
// then times both kernels. From the repository root, on the GPU machine:
//   bench/cuda/run-bench.sh moe_combine_shared_bench [T]        (T tokens, default 256)
// Exits 1 if any check fails.
#include "../../gpu-runtime/src/main/cuda/kernels.cu"
#include "bench_util.cuh"

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

static const double TOL = 1e-5; // x ~ N(0, 1), routed and shared rows ~ N(0, 0.5): sums of O(1)

struct Shape {
    const char* name;
    int H, K, E;
};

int main(int argc, char** argv) {
    int T = argc > 1 ? atoi(argv[1]) : 256;
    const Shape shapes[] = {
        {"Qwen1.5-MoE-A2.7B (H 2048, top-4 of 60)", 2048, 4, 60},
        {"Qwen2-57B-A14B (H 3584, top-8 of 64)", 3584, 8, 64},
        {"GLM-4.5-Air (H 4096, top-8 of 128)", 4096, 8, 128},
        {"DeepSeek-V3 (H 7168, top-8 of 256)", 7168, 8, 256},
        {"odd width (H 42, top-3 of 12)", 42, 3, 12},
    };
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("%s, %d SMs, T=%d tokens\n", prop.name, prop.multiProcessorCount, T);
    bool ok = true;
    std::mt19937 rng(1);
    for (const Shape& s : shapes) {
        int H = s.H, K = s.K, pairs = T * K;
        auto xh = normal((size_t)T * H, 2);
        auto yh = normal((size_t)pairs * H, 3, 0.f, 0.5f);
        auto shH = normal((size_t)T * H, 4, 0.f, 0.5f);
        std::vector<float> wh(pairs), gh(T);
        std::vector<int> slotH(pairs);
        std::uniform_real_distribution<float> ud(0.01f, 1.f);
        for (int p = 0; p < pairs; p++) {
            wh[p] = ud(rng);
            slotH[p] = p;
        }
        std::shuffle(slotH.begin(), slotH.end(), rng); // rows of ySorted grouped by expert: any permutation
        for (int t = 0; t < T; t++) gh[t] = 1.f / (1.f + std::exp(-2.f * (ud(rng) - 0.5f)));
        float *y = dev(yh), *sh = dev(shH), *w = dev(wh), *g = dev(gh);
        int* slot = dev(slotH);
        bool exact = true;
        double maxErr = 0;
        for (bool gated : {false, true}) {
            float* x = dev(xh);
            moe_combine_shared<<<T, 256>>>(x, y, slot, w, K, H, sh, gated ? g : nullptr);
            CK(cudaDeviceSynchronize());
            auto xg = toHost(x, (size_t)T * H);
            for (int t = 0; t < T; t++)
                for (int i = 0; i < H; i++) {
                    float acc = 0.f;
                    for (int k = 0; k < K; k++)
                        acc = std::fma(wh[t * K + k], yh[(size_t)slotH[t * K + k] * H + i], acc);
                    float shared = gated ? gh[t] * shH[(size_t)t * H + i] : shH[(size_t)t * H + i];
                    float ref = xh[(size_t)t * H + i] + (acc + shared);
                    float got = xg[(size_t)t * H + i];
                    maxErr = std::max(maxErr, (double)std::fabs(got - ref));
                    exact &= got == ref;
                }
            CK(cudaFree(x));
        }
        // 2. ySh = 0, no gate: moe_combine's bits
        std::vector<float> zeros((size_t)T * H, 0.f);
        float *zero = dev(zeros), *xa = dev(xh), *xb = dev(xh);
        moe_combine_shared<<<T, 256>>>(xa, y, slot, w, K, H, zero, nullptr);
        moe_combine<<<T, 256>>>(xb, y, slot, w, K, H);
        CK(cudaDeviceSynchronize());
        bool sameOld = sameAll(xa, xb, (long long)T * H);
        auto neu = [&] { moe_combine_shared<<<T, 256>>>(xa, y, slot, w, K, H, sh, g); };
        auto old = [&] { moe_combine<<<T, 256>>>(xb, y, slot, w, K, H); };
        double tn = timeIt(neu, 21, 20), to = timeIt(old, 21, 20);
        ok &= maxErr <= TOL && sameOld;
        printf("%-42s CPU max err %.2e %s%s, = moe_combine without shared row: %s   %7.2f us (moe_combine %7.2f us)\n",
               s.name, maxErr, maxErr <= TOL ? "ok" : "FAIL", exact ? " (bit-exact)" : "", sameOld ? "yes" : "NO", tn,
               to);
    }
    printf(ok ? "all checks passed\n" : "SOME CHECKS FAILED\n");
    return ok ? 0 : 1;
}
