// Micro-benchmark of qkv_bias_norm_rope_kv (kernels/qkv_bias_rope_kv.cuh: q/k/v bias + per-head q/k norm + RoPE on
// the first rotaryDim dims + K/V cache write; Qwen2-MoE and GLM-4.5) against a CPU reference, at the real shapes
// of Qwen1.5-MoE-A2.7B, Qwen2-57B-A14B, GLM-4.5-Air and GLM-4.5 and at the glm4-moe-tiny fixture's, beside
// qk_norm_rope_kv at the same shape. Checks, per shape:
//   1. against the CPU (transformers' order: x + b, RMSNorm per head, rotate-half over [0, rotaryDim), the rest
//      passed through): max |GPU - CPU| <= TOL over q, the K and the V cache rows; the unrotated dims equal the
//      CPU's bit for bit where no norm runs (the bias add is one fp32 addition on both sides);
//   2. with no bias and rotaryDim = head_dim it gives qk_norm_rope_kv's bits (the same arithmetic per element);
// then times both kernels. From the repository root, on the GPU machine:
//   bench/cuda/run-bench.sh qkv_bias_rope_bench [T]        (T tokens per launch, default 256)
// Exits 1 if any check fails.
#include "../../gpu-runtime/src/main/cuda/kernels.cu"
#include "bench_util.cuh"

#include <cmath>
#include <cstdio>
#include <vector>

static const double TOL = 2e-5; // q/k are O(1) after the norm (O(10) without): cosf/sinf vs the CPU's and sum order

struct Shape {
    const char* name;
    int nH, nKV, D, rotaryDim, qkMode; // qkMode 0 none, 1 per head
    bool bias;
    double theta;
};

// the CPU reference of one token's q/k/v row, written as the kernel's outputs: q [nH*D], k and v [nKV*D]
static void reference(const Shape& s, const float* row, const float* bias, const std::vector<bf16>& qn,
                      const std::vector<bf16>& kn, const std::vector<float>& inv, int pos, float eps, float* q,
                      float* k, float* v) {
    int D = s.D, half = s.rotaryDim / 2;
    std::vector<float> span(D);
    for (int task = 0; task < s.nH + 2 * s.nKV; task++) {
        for (int i = 0; i < D; i++) span[i] = row[task * D + i] + (bias ? bias[task * D + i] : 0.f);
        bool isQ = task < s.nH, isV = task >= s.nH + s.nKV;
        if (!isV) {
            if (s.qkMode == 1) {
                double ss = 0;
                for (int i = 0; i < D; i++) ss += (double)span[i] * span[i];
                float invn = (float)(1.0 / std::sqrt(ss / D + eps));
                const std::vector<bf16>& w = isQ ? qn : kn;
                for (int i = 0; i < D; i++) span[i] = __bfloat162float(w[i]) * (span[i] * invn);
            }
            for (int i = 0; i < half; i++) {
                double ang = (double)((float)pos * inv[i]);
                float c = (float)std::cos(ang), sn = (float)std::sin(ang);
                float a = span[i], b = span[i + half];
                span[i] = a * c - b * sn;
                span[i + half] = b * c + a * sn;
            }
        }
        float* dst = isQ ? q + task * D : isV ? v + (task - s.nH - s.nKV) * D : k + (task - s.nH) * D;
        for (int i = 0; i < D; i++) dst[i] = span[i];
    }
}

int main(int argc, char** argv) {
    int T = argc > 1 ? atoi(argv[1]) : 256;
    const float eps = 1e-6f;
    const Shape shapes[] = {
        {"Qwen1.5-MoE-A2.7B (16/16 x 128, bias)", 16, 16, 128, 128, 0, true, 1e6},
        {"Qwen2-57B-A14B (28/4 x 128, bias)", 28, 4, 128, 128, 0, true, 1e6},
        {"GLM-4.5-Air (96/8 x 128, bias, rotary 64)", 96, 8, 128, 64, 0, true, 1e6},
        {"GLM-4.5 (96/8 x 128, bias, qk-norm, rotary 64)", 96, 8, 128, 64, 1, true, 1e6},
        {"glm4-moe-tiny (6/2 x 16, bias, qk-norm, rotary 8)", 6, 2, 16, 8, 1, true, 1e6},
        {"partial rotary only (32/4 x 128, rotary 32)", 32, 4, 128, 32, 1, false, 1e4},
    };
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("%s, %d SMs, T=%d tokens\n", prop.name, prop.multiProcessorCount, T);
    bool ok = true;
    const int numSlots = 4096;
    std::vector<int> pos(T), slotsH(T);
    for (int t = 0; t < T; t++) {
        pos[t] = 37 * t + 5; // positions up to ~9.5k: large angles exercise cosf / sinf
        slotsH[t] = (t * 131) % numSlots;
    }
    int *positions = dev(pos), *slots = dev(slotsH);
    for (const Shape& s : shapes) {
        int D = s.D, qDim = s.nH * D, kvDim = s.nKV * D, qkvDim = qDim + 2 * kvDim;
        auto qkvH = normal((size_t)T * qkvDim, 1, 0.f, 2.f);
        auto biasH = normal(qkvDim, 2, 0.f, 1.f);
        auto qnH = bf16s(D, 3, 1.f, 0.3f), knH = bf16s(D, 4, 1.f, 0.3f);
        std::vector<float> inv(s.rotaryDim / 2), invFull(D / 2);
        for (int i = 0; i < s.rotaryDim / 2; i++) inv[i] = (float)(1.0 / std::pow(s.theta, 2.0 * i / s.rotaryDim));
        for (int i = 0; i < D / 2; i++) invFull[i] = (float)(1.0 / std::pow(s.theta, 2.0 * i / D));
        float *qkv = dev(qkvH), *bias = dev(biasH), *invD = dev(inv), *invFullD = dev(invFull);
        bf16 *qn = dev(qnH), *kn = dev(knH);
        size_t cacheN = (size_t)numSlots * kvDim;
        float *q, *kc, *vc, *q2, *kc2, *vc2;
        for (float** p : {&q, &q2}) CK(cudaMalloc(p, (size_t)T * qDim * 4));
        for (float** p : {&kc, &vc, &kc2, &vc2}) {
            CK(cudaMalloc(p, cacheN * 4));
            CK(cudaMemset(*p, 0, cacheN * 4));
        }
        int gy = cdiv(s.nH + 2 * s.nKV, QKR_THREADS / 32);
        const float* b = s.bias ? bias : nullptr;
        auto neu = [&] {
            qkv_bias_norm_rope_kv<<<dim3(T, gy), QKR_THREADS>>>(qkv, positions, slots, qn, kn, s.qkMode, eps, invD,
                                                                q, b, s.rotaryDim, kc, vc, s.nH, s.nKV, D);
        };
        auto old = [&] {
            qk_norm_rope_kv<<<dim3(T, gy), QKR_THREADS>>>(qkv, positions, slots, qn, kn, s.qkMode, eps, invFullD, q2,
                                                          kc2, vc2, s.nH, s.nKV, D);
        };
        neu();
        CK(cudaDeviceSynchronize());
        // 1. against the CPU
        auto qG = toHost(q, (size_t)T * qDim), kG = toHost(kc, cacheN), vG = toHost(vc, cacheN);
        double maxErr = 0;
        bool passSame = true;
        std::vector<float> qR(qDim), kR(kvDim), vR(kvDim);
        for (int t = 0; t < T; t++) {
            reference(s, &qkvH[(size_t)t * qkvDim], s.bias ? biasH.data() : nullptr, qnH, knH, inv, pos[t], eps,
                      qR.data(), kR.data(), vR.data());
            const float* kRow = &kG[(size_t)slotsH[t] * kvDim];
            const float* vRow = &vG[(size_t)slotsH[t] * kvDim];
            for (int i = 0; i < qDim; i++) {
                maxErr = std::max(maxErr, (double)std::fabs(qG[(size_t)t * qDim + i] - qR[i]));
                if (s.qkMode == 0 && i % D >= s.rotaryDim) passSame &= qG[(size_t)t * qDim + i] == qR[i];
            }
            for (int i = 0; i < kvDim; i++) {
                maxErr = std::max(maxErr, (double)std::fabs(kRow[i] - kR[i]));
                maxErr = std::max(maxErr, (double)std::fabs(vRow[i] - vR[i]));
                passSame &= vRow[i] == vR[i]; // v: x + b only, one fp32 addition on both sides
                if (s.qkMode == 0 && i % D >= s.rotaryDim) passSame &= kRow[i] == kR[i];
            }
        }
        bool cpuOk = maxErr <= TOL && passSame;
        // 2. no bias, whole heads: qk_norm_rope_kv's bits
        auto plain = [&] {
            qkv_bias_norm_rope_kv<<<dim3(T, gy), QKR_THREADS>>>(qkv, positions, slots, qn, kn, s.qkMode, eps,
                                                                invFullD, q, nullptr, D, kc, vc, s.nH, s.nKV, D);
        };
        plain();
        old();
        CK(cudaDeviceSynchronize());
        bool sameOld = sameAll(q, q2, (long long)T * qDim) && sameAll(kc, kc2, (long long)cacheN)
                       && sameAll(vc, vc2, (long long)cacheN);
        double tn = timeIt(neu, 21, 20), to = timeIt(old, 21, 20);
        ok &= cpuOk && sameOld;
        printf("%-50s CPU max err %.2e %s, unrotated/v exact %s, = qk_norm_rope_kv without bias/partial: %s   "
               "%7.2f us (qk_norm_rope_kv %7.2f us)\n",
               s.name, maxErr, maxErr <= TOL ? "ok" : "FAIL", passSame ? "yes" : "NO", sameOld ? "yes" : "NO", tn, to);
    }
    printf(ok ? "all checks passed\n" : "SOME CHECKS FAILED\n");
    return ok ? 0 : 1;
}
