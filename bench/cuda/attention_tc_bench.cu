// Micro-benchmark and checks of the tensor-core attention for bf16 / fp8 K/V (kernels/attention_tc.cuh), each
// launch followed by the partial merge, over a random paged cache (values as stored: bf16, or fp8 e4m3), in order:
//   (1) accuracy: rows against a double-precision CPU attention over the stored cache values (max |error|; fails
//       above TOL), and the staged kernel's rows (attention_staged_d*_{bf16,fp8}, fp32 FMA) printed beside it;
//   (2) invariance, 0 differing bits required: the rows of a 300-token sequence computed as decode launches (one
//       token per block, all 300 in one launch), alone (T = 1 launches), in one prefill launch (x2 and x4: 2 and 4
//       row tiles per block), in prefill chunks of 7 and 100 tokens, and batched with other sequences' prompts and
//       decode tokens (prefill launch over a mixed step);
//   (3) timing against the staged kernel: decode (Qwen3-30B-A3B: 32 / 4 heads, D 128) at batch × context 10 × 2,048,
//       32 × 4,096, 128 × 1,024, 256 × 770 (K/V GB/s), prefill of one 2,048- and one 4,096-token prompt and
//       16 × 512 (TFLOP/s: 4 · D flops per (query head, attended position)).
// On the GPU machine: bench/cuda/run-bench.sh attention_tc_bench [bf16|fp8|both]
// Exits 1 on a failed check.
#include "../../gpu-runtime/src/main/cuda/kernels.cu"
#include "bench_util.cuh"

#include <cmath>
#include <cstring>
#include <functional>

static const double TOL = 2e-3; // max |output - CPU double|: q and p carry ~16 mantissa bits (hi + lo)
static const int NH = 32, NKV = 4, D = 128, G = NH / NKV, BLOCK = 16;
static bool ok = true;

// the decode kernel with V loaded into K's stage (attention_tc.cuh ONEBUF): half the shared memory
template <typename KVT>
__global__ void __launch_bounds__(TCATT_SLICES * 32) x_tc_onebuf(TCATT_ARGS_T(KVT)) {
    tcAttentionBody<128, KVT, 1, true>(TCATT_PASS);
}
// the decode and x4 kernels with scalar shared-memory fragment reads instead of ldmatrix (attention_tc.cuh LDM false)
template <typename KVT, int NT>
__global__ void __launch_bounds__(NT * TCATT_SLICES * 32) x_tc_scalar(TCATT_ARGS_T(KVT)) {
    tcAttentionBody<128, KVT, NT, false, false>(TCATT_PASS);
}

// one paged cache: sequences of given lengths, physical blocks shuffled; q for every (sequence, position)
template <typename KVT>
struct Cache {
    std::vector<int> lens, btH, seqQ0; // seqQ0: first q row of each sequence
    bool lastOnly;                     // q only for each sequence's last position (the decode timings)
    int btStride = 0;
    std::vector<KVT> kH, vH;
    std::vector<float> qH;
    KVT *k = nullptr, *v = nullptr;
    float* q = nullptr;
    int *bt = nullptr, *meta = nullptr;
    size_t row(int s, int p, int kvh) const {
        return ((size_t)(btH[(size_t)s * btStride + p / BLOCK] * BLOCK + p % BLOCK) * NKV + kvh) * D;
    }
    float kf(size_t i) const { return toF(kH[i]); }
    float vf(size_t i) const { return toF(vH[i]); }
    static float toF(bf16 x) { return __bfloat162float(x); }
    static float toF(fp8 x) { return __half2float(__half(__nv_cvt_fp8_to_halfraw(x, __NV_E4M3))); }
    static KVT fromF(float x, bf16*) { return __float2bfloat16_rn(x); }
    static KVT fromF(float x, fp8*) { return __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3); }
    size_t qRow(int s, int p) const { return lastOnly ? (size_t)s : (size_t)seqQ0[s] + p; }
    Cache(const std::vector<int>& l, unsigned seed, bool lastQOnly = false) : lens(l), lastOnly(lastQOnly) {
        int nb = 0;
        for (int x : lens) btStride = std::max(btStride, cdiv(x, BLOCK)), nb += cdiv(x, BLOCK);
        std::vector<int> phys(nb);
        for (int i = 0; i < nb; i++) phys[i] = i;
        std::mt19937 rng(seed);
        std::shuffle(phys.begin(), phys.end(), rng);
        btH.assign((size_t)lens.size() * btStride, 0);
        int next = 0, q0 = 0;
        for (size_t s = 0; s < lens.size(); s++) {
            for (int b = 0; b < cdiv(lens[s], BLOCK); b++) btH[s * btStride + b] = phys[next++];
            seqQ0.push_back(q0);
            q0 += lens[s];
        }
        size_t n = (size_t)nb * BLOCK * NKV * D;
        auto kf = normal(n, seed + 1), vf = normal(n, seed + 2);
        kH.resize(n);
        vH.resize(n);
        for (size_t i = 0; i < n; i++) kH[i] = fromF(kf[i], (KVT*)nullptr), vH[i] = fromF(vf[i], (KVT*)nullptr);
        qH = normal((size_t)(lastOnly ? lens.size() : q0) * NH * D, seed + 3);
        k = dev(kH);
        v = dev(vH);
        q = dev(qH);
        bt = dev(btH);
        meta = dev(std::vector<int>{btStride});
    }
};

// a step: tokens (sequence, position), contiguous per sequence
struct Step {
    std::vector<int> seq, pos;
    void add(int s, int p0, int n) {
        for (int i = 0; i < n; i++) seq.push_back(s), pos.push_back(p0 + i);
    }
};

template <typename KVT>
struct Runner {
    Cache<KVT>& c;
    float scale = 1.f / std::sqrt((float)D);
    // launches kind over the step; returns the merged fp32 rows [T][NH][D]. kind: "staged", "tc" (decode), "tc1"
    // (decode, ONEBUF), "x2", "x4", "s1" / "s4" (decode / x4 with scalar fragment reads)
    std::vector<float> run(const Step& st, const std::string& kind, double* us = nullptr) {
        int T = (int)st.seq.size();
        std::vector<float> qs((size_t)T * NH * D);
        for (int t = 0; t < T; t++)
            memcpy(&qs[(size_t)t * NH * D], &c.qH[c.qRow(st.seq[t], st.pos[t]) * NH * D], NH * D * 4);
        float* q = dev(qs);
        int *tokSeq = dev(st.seq), *pos = dev(st.pos);
        float *part, *out;
        CK(cudaMalloc(&part, (size_t)T * NH * ATT_SPLITS * (D + 2) * 4));
        CK(cudaMalloc(&out, (size_t)T * NH * D * 4));
        constexpr int EB = sizeof(KVT);
        bool b = EB == 2;
        std::function<void()> launch;
        if (kind == "staged") {
            auto f = b ? (void*)attention_staged_d128_bf16 : (void*)attention_staged_d128_fp8;
            CK(cudaFuncSetAttribute(f, cudaFuncAttributePreferredSharedMemoryCarveout, 100));
            launch = [=] {
                ((void (*)(SATT_ARGS_T(KVT)))f)<<<dim3(NKV, T, ATT_SPLITS), SATT_THREADS>>>(
                    q, c.k, c.v, tokSeq, pos, c.bt, c.meta, BLOCK, NH, NKV, D, scale, part);
            };
        } else {
            bool one = kind == "tc1";
            int nt = kind == "tc" || one || kind == "s1" ? 1 : kind == "x2" ? 2 : 4, tpt = nt == 1 ? 1 : 16 / G;
            void* f = one ? (void*)x_tc_onebuf<KVT>
                    : kind == "s1" ? (void*)x_tc_scalar<KVT, 1>
                    : kind == "s4" ? (void*)x_tc_scalar<KVT, 4>
                    : nt == 1 ? (b ? (void*)attention_tc_d128_bf16 : (void*)attention_tc_d128_fp8)
                    : nt == 2 ? (b ? (void*)attention_tc_d128_bf16_x2 : (void*)attention_tc_d128_fp8_x2)
                              : (b ? (void*)attention_tc_d128_bf16_x4 : (void*)attention_tc_d128_fp8_x4);
            int smem = tcAttSharedBytes(D, EB, nt, one);
            CK(cudaFuncSetAttribute(f, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
            CK(cudaFuncSetAttribute(f, cudaFuncAttributePreferredSharedMemoryCarveout, 100));
            int gy = cdiv(T, nt * tpt);
            launch = [=] {
                ((void (*)(TCATT_ARGS_T(KVT)))f)<<<dim3(NKV, gy, ATT_SPLITS), nt * TCATT_SLICES * 32, smem>>>(
                    q, c.k, c.v, tokSeq, pos, c.bt, c.meta, BLOCK, NH, NKV, D, scale, part, T, tpt);
            };
        }
        auto full = [&] {
            launch();
            x_attention_combine_ref<<<dim3(T, NH), 128>>>(part, pos, NH, D, out);
        };
        full();
        CK(cudaDeviceSynchronize());
        CK(cudaGetLastError());
        auto r = toHost(out, (size_t)T * NH * D);
        if (us) *us = timeIt(launch, 7, 3);
        for (float* p : {q, part, out}) CK(cudaFree(p));
        for (int* p : {tokSeq, pos}) CK(cudaFree(p));
        return r;
    }
    // CPU double attention of (sequence s, position p), all heads
    std::vector<double> ref(int s, int p) {
        std::vector<double> o((size_t)NH * D, 0.0);
        const float* qr = &c.qH[c.qRow(s, p) * NH * D];
        for (int h = 0; h < NH; h++) {
            int kvh = h / G;
            std::vector<double> sc(p + 1);
            double m = -1e300, l = 0;
            for (int j = 0; j <= p; j++) {
                size_t r = c.row(s, j, kvh);
                double dot = 0;
                for (int d = 0; d < D; d++) dot += (double)qr[h * D + d] * c.kf(r + d);
                sc[j] = dot * scale;
                m = std::max(m, sc[j]);
            }
            for (int j = 0; j <= p; j++) {
                double e = std::exp(sc[j] - m);
                l += e;
                size_t r = c.row(s, j, kvh);
                for (int d = 0; d < D; d++) o[h * D + d] += e * c.vf(r + d);
            }
            for (int d = 0; d < D; d++) o[h * D + d] /= l;
        }
        return o;
    }
};

// rows [from, from + n) of a are bit for bit rows [at, at + n) of b
static bool sameRows(const std::vector<float>& a, int from, const std::vector<float>& b, int at, int n) {
    return memcmp(&a[(size_t)from * NH * D], &b[(size_t)at * NH * D], (size_t)n * NH * D * 4) == 0;
}

template <typename KVT>
static void checks(const char* type) {
    // sequence 0: 300 tokens (partitions 0..2, the last partial); 1: 2,600 (a partition with two chunks, z wraps);
    // 2 and 3: others to batch with
    Cache<KVT> c({300, 2600, 130, 45}, 7);
    Runner<KVT> r{c};
    const int L = 300;
    printf("[%s] checks on a %d-token sequence (+ a 2,600-token one), 32 / 4 heads, D 128\n", type, L);
    Step dec;
    dec.add(0, 0, L);
    auto decRows = r.run(dec, "tc");
    // (1) accuracy: every 23rd row of sequence 0, the last rows of sequence 1
    double err = 0, errStaged = 0;
    auto stagedRows = r.run(dec, "staged");
    for (int p = 0; p < L; p += 23) {
        auto o = r.ref(0, p);
        for (int i = 0; i < NH * D; i++) {
            err = std::max(err, std::fabs(decRows[(size_t)p * NH * D + i] - o[i]));
            errStaged = std::max(errStaged, std::fabs(stagedRows[(size_t)p * NH * D + i] - o[i]));
        }
    }
    Step longTail;
    longTail.add(1, 2600 - 5, 5);
    auto ltRows = r.run(longTail, "tc");
    for (int i = 0; i < 5; i++) {
        auto o = r.ref(1, 2600 - 5 + i);
        for (int j = 0; j < NH * D; j++) err = std::max(err, std::fabs(ltRows[(size_t)i * NH * D + j] - o[j]));
    }
    bool accOk = err <= TOL;
    ok &= accOk;
    printf("  (1) max|err| vs CPU double: tensor-core %.2e (%s), staged fp32-FMA %.2e\n", err,
           accOk ? "ok" : "FAIL: over tolerance", errStaged);
    // (2) invariance
    auto verdict = [&](const char* what, bool same) {
        ok &= same;
        printf("  (2) %-58s %s\n", what, same ? "0 differing bits" : "FAIL: bits differ");
    };
    bool alone = true;
    for (int p : {0, 1, 127, 128, 200, 299}) {
        Step one;
        one.add(0, p, 1);
        alone &= sameRows(r.run(one, "tc"), 0, decRows, p, 1);
    }
    verdict("decode: alone (T = 1) = 300 tokens in one launch", alone);
    verdict("decode with V in K's stage (ONEBUF) = decode rows", sameRows(r.run(dec, "tc1"), 0, decRows, 0, L));
    verdict("decode and x4 with scalar fragment reads = decode rows (ldmatrix)",
            sameRows(r.run(dec, "s1"), 0, decRows, 0, L) && sameRows(r.run(dec, "s4"), 0, decRows, 0, L));
    for (const char* k : {"x2", "x4"}) {
        auto pre = r.run(dec, k);
        verdict((std::string("prefill ") + k + ", whole prompt = decode rows").c_str(), sameRows(pre, 0, decRows, 0, L));
        bool chunked = true;
        for (int chunk : {7, 100}) {
            for (int p0 = 0; p0 < L; p0 += chunk) {
                Step ch;
                ch.add(0, p0, std::min(chunk, L - p0));
                chunked &= sameRows(r.run(ch, k), 0, decRows, p0, std::min(chunk, L - p0));
            }
        }
        verdict((std::string("prefill ") + k + " in chunks of 7 and of 100 = decode rows").c_str(), chunked);
        Step mixed; // other sequences' decode tokens and prompt pieces around it, odd offsets
        mixed.add(2, 129, 1);
        mixed.add(3, 0, 45);
        mixed.add(0, 0, L);
        mixed.add(2, 0, 3);
        mixed.add(1, 2599, 1);
        auto m = r.run(mixed, k);
        verdict((std::string("prefill ") + k + " batched with 4 other runs = decode rows").c_str(),
                sameRows(m, 46, decRows, 0, L) && sameRows(m, 49 + L, ltRows, 4, 1));
    }
    Step ltPre;
    ltPre.add(1, 0, 2600);
    auto lt = r.run(ltPre, "x4");
    verdict("2,600-token prefill x4: last 5 rows = decode rows", sameRows(lt, 2595, ltRows, 0, 5));
}

template <typename KVT>
static void timings(const char* type) {
    printf("[%s] timing, Qwen3-30B-A3B attention (32 / 4 heads, D 128): staged (fp32 FMA) vs tensor-core\n", type);
    for (auto [B, ctx] : std::vector<std::pair<int, int>>{{10, 2048}, {32, 4096}, {128, 1024}, {256, 770}}) {
        Cache<KVT> c(std::vector<int>(B, ctx), 11, true);
        Runner<KVT> r{c};
        Step st;
        for (int s = 0; s < B; s++) st.add(s, ctx - 1, 1);
        double bytes = 2.0 * B * ctx * NKV * D * sizeof(KVT), uS, uT, u1;
        auto a = r.run(st, "staged", &uS);
        auto b = r.run(st, "tc", &uT);
        auto b1 = r.run(st, "tc1", &u1);
        double diff = 0;
        for (size_t i = 0; i < a.size(); i++) diff = std::max(diff, (double)std::fabs(a[i] - b[i]));
        bool same = b == b1;
        ok &= same;
        printf("  decode %3d x %4d: staged %8.1f us %6.0f GB/s | tc %8.1f us %6.0f GB/s (%.2fx) | tc ONEBUF %8.1f us "
               "%6.0f GB/s (= tc: %s)  max|tc - staged| %.1e\n",
               B, ctx, uS, bytes / uS / 1e3, uT, bytes / uT / 1e3, uS / uT, u1, bytes / u1 / 1e3,
               same ? "bit for bit" : "FAIL", diff);
    }
    for (auto [B, len] : std::vector<std::pair<int, int>>{{1, 2048}, {1, 4096}, {16, 512}}) {
        Cache<KVT> c(std::vector<int>(B, len), 13);
        Runner<KVT> r{c};
        Step st;
        for (int s = 0; s < B; s++) st.add(s, 0, len);
        double flops = 0;
        for (int s = 0; s < B; s++) flops += 4.0 * D * NH * (double)len * (len + 1) / 2;
        double uS, u1, u2, u4, us4;
        auto a = r.run(st, "staged", &uS);
        auto b1 = r.run(st, "tc", &u1);
        auto b2 = r.run(st, "x2", &u2);
        auto b4 = r.run(st, "x4", &u4);
        auto bs = r.run(st, "s4", &us4);
        bool same = b1 == b2 && b1 == b4 && b1 == bs;
        ok &= same;
        printf("  prefill %2d x %4d: staged %8.1f us %5.1f TFLOP/s | tc %8.1f us %5.1f | x2 %8.1f us %5.1f | x4 %8.1f us "
               "%5.1f | x4 scalar reads %8.1f us %5.1f TFLOP/s  (all = tc: %s)\n",
               B, len, uS, flops / uS / 1e6, u1, flops / u1 / 1e6, u2, flops / u2 / 1e6, u4, flops / u4 / 1e6, us4,
               flops / us4 / 1e6, same ? "bit for bit" : "FAIL");
    }
}

int main(int argc, char** argv) {
    std::string which = argc > 1 ? argv[1] : "both";
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("%s, %d SMs; tolerance %.0e against the CPU double sum\n", prop.name, prop.multiProcessorCount, TOL);
    if (which != "fp8") { checks<bf16>("bf16"); timings<bf16>("bf16"); }
    if (which != "bf16") { checks<fp8>("fp8"); timings<fp8>("fp8"); }
    printf(ok ? "all checks passed\n" : "CHECKS FAILED\n");
    return ok ? 0 : 1;
}
