// Check and micro-benchmark of mla_rope_kv (kernels/mla_rope_kv.cuh: MLA's rotated query and its decompressed,
// zero-padded per-head K / V cache rows, which the CUDA backend's MlaAttentionStep feeds to the GQA attention
// kernels with one K/V head per query head) at the shapes of DeepSeek-V3, DeepSeek-V2-Lite / Moonlight and of the
// three DeepSeek fixtures. Checks, per shape:
//   1. against a CPU reference (CpuMlaAttention's order: cos / sin of (float) position · invFreq, times YaRN's
//      attention factor, then x1 cos - x2 sin / x2 cos + x1 sin over interleaved or rotate-half pairs): the rotated
//      parts within TOL; q_nope, k_nope and v copied bit for bit; every padding element exactly 0;
//   2. the bf16 and fp8 variants store exactly the fp32 variant's values rounded once (kvStore);
//   3. `attention` (block kernel, nKV = nH, D = the padded width) over a sequence written by mla_rope_kv, merged by
//      the reference merge, against a double-precision MLA attention over the unpadded heads (qk_head_dim keys,
//      v_head_dim values): within ATT_TOL, and the outputs' padded tail exactly 0 (what o_proj's zero columns
//      rely on);
// then times the kernel. From the repository root, on the GPU machine:
//   bench/cuda/run-bench.sh mla_rope_kv_bench [T]        (T tokens per launch, default 256)
// Exits 1 if any check fails.
#include "../../gpu-runtime/src/main/cuda/kernels.cu"
#include "bench_util.cuh"

#include <cmath>
#include <cstdio>
#include <vector>

static const double TOL = 5e-5;      // rotated values O(1): cosf / sinf against the CPU's cos / sin
static const double ATT_TOL = 2e-5;  // attention outputs O(1): fp32 sums in another order than the double ones

struct Shape {
    const char* name;
    int nH, DN, DR, DV;
    bool interleaved;
    double theta;
    float attnFactor; // YaRN's attention_factor (1 without YaRN or with mscale == mscale_all_dim)
};

static int paddedD(const Shape& s) { return (std::max(s.DN + s.DR, s.DV) + 7) / 8 * 8; }

// CPU reference of one token: q [nH][D], k [nH][D], v [nH][D] (padded with zeros)
static void reference(const Shape& s, int D, const float* q, const float* kRope, const float* kvb,
                      const std::vector<float>& inv, int pos, float* qo, float* ko, float* vo) {
    int half = s.DR / 2, DQK = s.DN + s.DR;
    std::vector<float> c(half), sn(half), kRot(s.DR);
    for (int i = 0; i < half; i++) {
        double ang = (double)((float)pos * inv[i]);
        c[i] = (float)std::cos(ang);
        sn[i] = (float)std::sin(ang);
        if (s.attnFactor != 1.f) {
            c[i] *= s.attnFactor;
            sn[i] *= s.attnFactor;
        }
    }
    auto rot = [&](const float* x, float* o) {
        for (int i = 0; i < half; i++) {
            float a = s.interleaved ? x[2 * i] : x[i], b = s.interleaved ? x[2 * i + 1] : x[i + half];
            o[i] = a * c[i] - b * sn[i];
            o[i + half] = b * c[i] + a * sn[i];
        }
    };
    rot(kRope, kRot.data());
    std::vector<float> qRot(s.DR);
    for (int h = 0; h < s.nH; h++) {
        const float* qh = q + (size_t)h * DQK;
        const float* kvh = kvb + (size_t)h * (s.DN + s.DV);
        rot(qh + s.DN, qRot.data());
        for (int d = 0; d < D; d++) {
            qo[h * D + d] = d < s.DN ? qh[d] : d < DQK ? qRot[d - s.DN] : 0.f;
            ko[h * D + d] = d < s.DN ? kvh[d] : d < DQK ? kRot[d - s.DN] : 0.f;
            vo[h * D + d] = d < s.DV ? kvh[s.DN + d] : 0.f;
        }
    }
}

int main(int argc, char** argv) {
    int T = argc > 1 ? atoi(argv[1]) : 256;
    const Shape shapes[] = {
        {"DeepSeek-V3 (128 x 128+64 / 128)", 128, 128, 64, 128, true, 10000, 1.f},
        {"DeepSeek-V2-Lite (16 x 128+64 / 128, YaRN)", 16, 128, 64, 128, true, 10000, 1.f},
        {"Moonlight rotate-half (16 x 128+64 / 128)", 16, 128, 64, 128, false, 50000, 1.f},
        {"deepseek-v3-tiny (4 x 16+8 / 16)", 4, 16, 8, 16, true, 10000, 1.f},
        {"deepseek-v2-tiny (4 x 16+16 / 24)", 4, 16, 16, 24, true, 10000, 1.f},
        {"deepseek-v2-greedy-tiny (3 x 8+8 / 12, YaRN factor)", 3, 8, 8, 12, true, 10000, 1.0688f},
        {"value wider than key (2 x 8+8 / 36)", 2, 8, 8, 36, false, 10000, 1.f},
    };
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("%s, %d SMs, T=%d tokens\n", prop.name, prop.multiProcessorCount, T);
    bool ok = true;
    const int numSlots = 4096, blockSize = 16;
    std::vector<int> pos(T), slotsH(T);
    for (int t = 0; t < T; t++) {
        pos[t] = 37 * t + 5; // positions up to ~9.5k: large angles exercise cosf / sinf
        slotsH[t] = (t * 131) % numSlots;
    }
    int *positions = dev(pos), *slots = dev(slotsH);
    for (const Shape& s : shapes) {
        int D = paddedD(s), DQK = s.DN + s.DR, nH = s.nH;
        size_t qN = (size_t)T * nH * DQK, kvbN = (size_t)T * nH * (s.DN + s.DV), outN = (size_t)T * nH * D;
        auto qH = normal(qN, 1), kRopeH = normal((size_t)T * s.DR, 2), kvbH = normal(kvbN, 3);
        std::vector<float> inv(s.DR / 2);
        for (int i = 0; i < s.DR / 2; i++) inv[i] = (float)(1.0 / std::pow(s.theta, 2.0 * i / s.DR));
        float *q = dev(qH), *kRope = dev(kRopeH), *kvb = dev(kvbH), *invD = dev(inv);
        size_t cacheN = (size_t)numSlots * nH * D;
        float *qo, *kc, *vc;
        bf16 *kb, *vb;
        fp8 *k8, *v8;
        CK(cudaMalloc(&qo, outN * 4));
        CK(cudaMalloc(&kc, cacheN * 4));
        CK(cudaMalloc(&vc, cacheN * 4));
        CK(cudaMalloc(&kb, cacheN * 2));
        CK(cudaMalloc(&vb, cacheN * 2));
        CK(cudaMalloc(&k8, cacheN));
        CK(cudaMalloc(&v8, cacheN));
        auto run = [&] {
            mla_rope_kv<<<T, MLAX_THREADS>>>(q, kRope, kvb, positions, slots, invD, s.attnFactor, nH, s.DN, s.DR,
                                             s.DV, D, s.interleaved, qo, kc, vc);
        };
        run();
        mla_rope_kv_bf16<<<T, MLAX_THREADS>>>(q, kRope, kvb, positions, slots, invD, s.attnFactor, nH, s.DN, s.DR,
                                              s.DV, D, s.interleaved, qo, kb, vb);
        mla_rope_kv_fp8<<<T, MLAX_THREADS>>>(q, kRope, kvb, positions, slots, invD, s.attnFactor, nH, s.DN, s.DR,
                                             s.DV, D, s.interleaved, qo, k8, v8);
        CK(cudaDeviceSynchronize());
        // 1. against the CPU
        auto qG = toHost(qo, outN), kG = toHost(kc, cacheN), vG = toHost(vc, cacheN);
        auto kbG = toHost(kb, cacheN), vbG = toHost(vb, cacheN);
        auto k8G = toHost(k8, cacheN), v8G = toHost(v8, cacheN);
        double maxErr = 0;
        bool exact = true, rounded = true;
        std::vector<float> qR(nH * D), kR(nH * D), vR(nH * D);
        for (int t = 0; t < T; t++) {
            reference(s, D, &qH[(size_t)t * nH * DQK], &kRopeH[(size_t)t * s.DR], &kvbH[(size_t)t * nH * (s.DN + s.DV)],
                      inv, pos[t], qR.data(), kR.data(), vR.data());
            size_t row = (size_t)slotsH[t] * nH * D;
            for (int i = 0; i < nH * D; i++) {
                int d = i % D;
                float qg = qG[(size_t)t * nH * D + i], kg = kG[row + i], vg = vG[row + i];
                if (d >= s.DN && d < DQK) {
                    maxErr = std::max(maxErr, (double)std::fabs(qg - qR[i]));
                    maxErr = std::max(maxErr, (double)std::fabs(kg - kR[i]));
                } else {
                    exact &= qg == qR[i] && kg == kR[i]; // nope parts copied, padding 0
                }
                exact &= vg == vR[i];
                // 2. the bf16 / fp8 caches: the fp32 values rounded once
                rounded &= __bfloat162float(kbG[row + i]) == __bfloat162float(__float2bfloat16_rn(kg));
                rounded &= __bfloat162float(vbG[row + i]) == __bfloat162float(__float2bfloat16_rn(vg));
                rounded &= k8G[row + i] == __nv_cvt_float_to_fp8(kg, __NV_SATFINITE, __NV_E4M3);
                rounded &= v8G[row + i] == __nv_cvt_float_to_fp8(vg, __NV_SATFINITE, __NV_E4M3);
            }
        }
        bool cpuOk = maxErr <= TOL && exact && rounded;
        // 3. one sequence of L positions through mla_rope_kv, `attention` and the merge, against double MLA
        int L = std::min(T, 300);
        int nBlocks = cdiv(L, blockSize);
        std::vector<int> seqPos(L), seqSlots(L), bt(nBlocks), tokSeqH(L, 0), metaH = {nBlocks, 0, 0, 0};
        for (int b = 0; b < nBlocks; b++) bt[b] = (b * 7 + 3) % (numSlots / blockSize); // scattered blocks
        for (int p = 0; p < L; p++) {
            seqPos[p] = p;
            seqSlots[p] = bt[p / blockSize] * blockSize + p % blockSize;
        }
        int *sp = dev(seqPos), *ss = dev(seqSlots), *btD = dev(bt), *tokSeq = dev(tokSeqH), *meta = dev(metaH);
        float scale = (float)(1.0 / std::sqrt((double)DQK));
        float *part, *att;
        CK(cudaMalloc(&part, (size_t)L * nH * ATT_SPLITS * (D + 2) * 4));
        CK(cudaMalloc(&att, (size_t)L * nH * D * 4));
        mla_rope_kv<<<L, MLAX_THREADS>>>(q, kRope, kvb, sp, ss, invD, s.attnFactor, nH, s.DN, s.DR, s.DV, D,
                                         s.interleaved, qo, kc, vc);
        attention<<<dim3(L, nH, ATT_SPLITS), ATT_THREADS>>>(qo, kc, vc, tokSeq, sp, btD, meta, blockSize, nH, nH, D,
                                                             scale, part);
        x_attention_combine_ref<<<dim3(L, nH), 128>>>(part, sp, nH, D, att);
        CK(cudaDeviceSynchronize());
        auto attG = toHost(att, (size_t)L * nH * D);
        std::vector<float> qs((size_t)L * nH * D), ks((size_t)L * nH * D), vs((size_t)L * nH * D);
        for (int p = 0; p < L; p++)
            reference(s, D, &qH[(size_t)p * nH * DQK], &kRopeH[(size_t)p * s.DR], &kvbH[(size_t)p * nH * (s.DN + s.DV)],
                      inv, p, &qs[(size_t)p * nH * D], &ks[(size_t)p * nH * D], &vs[(size_t)p * nH * D]);
        double attErr = 0;
        bool tailZero = true;
        std::vector<double> sc(L);
        for (int t = 0; t < L; t++) {
            for (int h = 0; h < nH; h++) {
                const float* qv = &qs[((size_t)t * nH + h) * D];
                double m = -1e300, sum = 0;
                for (int p = 0; p <= t; p++) {
                    const float* kv = &ks[((size_t)p * nH + h) * D];
                    double dot = 0;
                    for (int d = 0; d < DQK; d++) dot += (double)qv[d] * kv[d]; // the unpadded key
                    sc[p] = dot * scale;
                    m = std::max(m, sc[p]);
                }
                for (int p = 0; p <= t; p++) sum += std::exp(sc[p] - m);
                for (int d = 0; d < D; d++) {
                    float g = attG[((size_t)t * nH + h) * D + d];
                    if (d >= s.DV) {
                        tailZero &= g == 0.f;
                        continue;
                    }
                    double o = 0;
                    for (int p = 0; p <= t; p++) o += std::exp(sc[p] - m) * vs[((size_t)p * nH + h) * D + d];
                    attErr = std::max(attErr, std::fabs(g - o / sum));
                }
            }
        }
        bool attOk = attErr <= ATT_TOL && tailZero;
        double tk = timeIt(run, 21, 20);
        ok &= cpuOk && attOk;
        printf("%-52s D=%3d  CPU max err %.2e %s, copies/padding exact %s, bf16/fp8 = fp32 rounded %s; attention "
               "(%d positions) vs double MLA %.2e %s, padded tail 0 %s   %7.2f us\n",
               s.name, D, maxErr, maxErr <= TOL ? "ok" : "FAIL", exact ? "yes" : "NO", rounded ? "yes" : "NO", L,
               attErr, attErr <= ATT_TOL ? "ok" : "FAIL", tailZero ? "yes" : "NO", tk);
    }
    printf(ok ? "all checks passed\n" : "SOME CHECKS FAILED\n");
    return ok ? 0 : 1;
}
