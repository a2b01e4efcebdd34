// Micro-benchmark of the GEMM kernels at the Qwen3-30B-A3B decode shapes (llm.c dev/cuda style): the backend's
// K-split kernels are the reference; every variant is first checked bit for bit against it, then timed. Inputs are
// random fp32 activations turned into the split rows the kernels read (bench_util's presplit); the "fp32 in"
// variants split them in every block instead, as the kernels did before their producers wrote split rows.
// On the GPU machine (nvcc there), from the repository root:
//   nvcc -O3 -std=c++17 -arch=sm_90 -o /tmp/gemm_bench bench/cuda/gemm_bench.cu && /tmp/gemm_bench 256
//   /tmp/gemm_bench 128             (the class-split dense products are meant for 32-255 rows: 64, 128, 192)
//   /tmp/gemm_bench small [M ...]   the dense products at few rows (default 1 10 16 32): the K-split kernels the
//                                   engine runs there, checked against the CPU and timed
// Prints, per product and variant: bit-identical or not, median µs per launch, and the unique weight bytes it
// had to stream over that time.
#include "../../gpu-runtime/src/main/cuda/kernels.cu"
#include "bench_util.cuh"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>


// gemm_swiglu_wide before its weight loads took the L2::256B hint (HINT 0), for the comparison
extern "C" __global__ void __launch_bounds__(256) x_swiglu_wide_nohint(SWIGLU_ARGS) { gemmBody<2, 2>(SWIGLU_PASS); }

// the persistent kernel's residual form, for the dense O product
SK_VARIANT(x_residual_p4x2, 1, 4, 2, 3, GEMM_ARGS, GEMM_PASS)
// the persistent gate/up kernel with its activations loaded in the round that uses them (PREFETCH 0, as before
// 07:40), and the down kernel with them a round ahead (PREFETCH 1: slower for down)
SK_VARIANT(x_swiglu_p2x2_nopf, 2, 2, 2, 3, SWIGLU_ARGS, SWIGLU_PASS, 0)
SK_VARIANT(x_store_p4x2_pf, 0, 4, 2, 3, GEMM_ARGS, GEMM_PASS, 1)
// the down product over 24-pair tiles with 32 weight rows per item (slower than gemm_store_p4x3's 64)
SK_VARIANT(x_store_p2x3, 0, 2, 3, 3, GEMM_ARGS, GEMM_PASS, 0)
SK_VARIANT(x_residual_p4x3, 1, 4, 3, 3, GEMM_ARGS, GEMM_PASS, 0)
// 32 weight rows per item: twice the items (better balance over the resident blocks for the 2048-row O product)
SK_VARIANT(x_residual_p2x2, 1, 2, 2, 3, GEMM_ARGS, GEMM_PASS, 0)
SK_VARIANT(x_residual_p2x3, 1, 2, 3, 3, GEMM_ARGS, GEMM_PASS, 0)
// gemm_swiglu_p2x3 with its activations a round ahead (spills: slower)
SK_VARIANT(x_swiglu_p2x3_pf, 2, 2, 3, 3, SWIGLU_ARGS, SWIGLU_PASS, 1, 1)

// the backend's GEMMs read split rows (kernels.cu storeSplit; the inputs here are split by bench_util's presplit);
// these are the same kernels splitting fp32 activations in every block (PS 0), as before the producers wrote split
// rows: bit-identical, slower
SK_VARIANT(x_swiglu_p2x2_fp32, 2, 2, 2, 3, SWIGLU_ARGS, SWIGLU_PASS, 1, 2, 0)
SK_VARIANT(x_swiglu_p2x3_fp32, 2, 2, 3, 3, SWIGLU_ARGS, SWIGLU_PASS, 0, 1, 0)
SK_VARIANT(x_store_p4x3_fp32, 0, 4, 3, 3, GEMM_ARGS, GEMM_PASS, 0, 3, 0)
extern "C" __global__ void __launch_bounds__(256) x_store_wide_fp32(GEMM_ARGS) { gemmBody<0, 4, GEMM_SUB, 0, 0>(GEMM_PASS); }
extern "C" __global__ void __launch_bounds__(256) x_residual_wide_fp32(GEMM_ARGS) { gemmBody<1, 4, GEMM_SUB, 0, 0>(GEMM_PASS); }


// output-tiled dense GEMMs (gemm_tiled.cuh): name, mode, 16-row groups per warp, warps over rows, warps over tokens,
// stages, blocks per SM hint
#define TG_BOTH(n, mf, nwr, nwt, st, mb) TG_VARIANT(x_ts_##n, 0, mf, nwr, nwt, st, mb, GEMM_ARGS, GEMM_PASS) \
    TG_VARIANT(x_tr_##n, 1, mf, nwr, nwt, st, mb, GEMM_ARGS, GEMM_PASS)
TG_BOTH(t2x4x2s4, 2, 4, 2, 4, 1)
TG_BOTH(t2x2x2s4, 2, 2, 2, 4, 3)
TG_BOTH(t4x2x2s4, 4, 2, 2, 4, 2)
TG_BOTH(t4x4x2s3, 4, 4, 2, 3, 1)
TG_BOTH(t2x2x1s4, 2, 2, 1, 4, 6)
// the expert gate/up pair over 32-pair tiles (gemm_tiled.cuh MODE 2): 128 rows of each matrix with 8 warps or
// with 4 warps of two 16-row groups, 32 rows with 2 warps; the down product with 64 rows and 4 warps
TG_VARIANT(x_sw_t1x8x1, 2, 1, 8, 1, 4, 1, SWIGLU_ARGS, SWIGLU_PASS)
TG_VARIANT(x_sw_t2x4x1, 2, 2, 4, 1, 4, 1, SWIGLU_ARGS, SWIGLU_PASS)
TG_VARIANT(x_sw_t1x2x1, 2, 1, 2, 1, 4, 6, SWIGLU_ARGS, SWIGLU_PASS)
TG_VARIANT(x_ds_t1x4x1, 0, 1, 4, 1, 4, 4, GEMM_ARGS, GEMM_PASS)
// over 64-pair tiles (session 10, for prefill-sized steps: 128 pairs an expert at 2,048 tokens): each weight row a
// block loads serves twice the pairs — 64 rows × 64 pairs with 8 warps or 4 warps of two 16-row groups, 128 × 64
// with 8 warps of two; the down product 128 × 64 with 8 warps
TG_VARIANT(x_sw_t1x4x2, 2, 1, 4, 2, 4, 1, SWIGLU_ARGS, SWIGLU_PASS)
TG_VARIANT(x_sw_t2x2x2, 2, 2, 2, 2, 4, 1, SWIGLU_ARGS, SWIGLU_PASS)
TG_VARIANT(x_sw_t2x4x2, 2, 2, 4, 2, 3, 1, SWIGLU_ARGS, SWIGLU_PASS)
TG_VARIANT(x_ds_t2x4x2, 0, 2, 4, 2, 4, 1, GEMM_ARGS, GEMM_PASS)
typedef void (*SwigluFn)(SWIGLU_ARGS);
typedef void (*GemmFn)(GEMM_ARGS);
struct TiledShape { const char* name; GemmFn store, residual; int mf, nwr, nwt, stages; };
static const TiledShape TILED[] = {
    {"tiled 128x32 (backend)", gemm_store_t2x4x1, gemm_residual_t2x4x1, 2, 4, 1, 4},
    {"tiled 128x64 8w", x_ts_t2x4x2s4, x_tr_t2x4x2s4, 2, 4, 2, 4},
    {"tiled 64x64 4w", x_ts_t2x2x2s4, x_tr_t2x2x2s4, 2, 2, 2, 4},
    {"tiled 128x64 4w mf4", x_ts_t4x2x2s4, x_tr_t4x2x2s4, 4, 2, 2, 4},
    {"tiled 256x64 mf4", x_ts_t4x4x2s3, x_tr_t4x4x2s3, 4, 4, 2, 3},
    {"tiled 64x32 2w", x_ts_t2x2x1s4, x_tr_t2x2x1s4, 2, 2, 1, 4},
};
static int tiledSmem(const TiledShape& s, int mats = 1) { return s.stages * (mats * 16 * s.mf * s.nwr * 64 + 32 * s.nwt * 128); }
// class-split dense products (gemm_tiled.cuh TG_CLASSES_VARIANT: grid z = the 8 classes of the K walk, each block
// one class of its tile, then gemm_fold_classes adds the class sums in order): the backend's shape and others
#define TG_CLASSES(n, mf, nwr, nwt, st, mb) TG_CLASSES_VARIANT(x_tc_##n, mf, nwr, nwt, st, mb)
TG_CLASSES(t2x4x2, 2, 4, 2, 4, 1)
TG_CLASSES(t2x4x4, 2, 4, 4, 3, 1)
TG_CLASSES(t2x2x2, 2, 2, 2, 4, 2)
// the same split with the fold inside (gemm_tiled.cuh TG_CLUSTER_VARIANT: a tile's 8 class blocks form one
// thread-block cluster and fold through distributed shared memory): the backend's shapes and one more
TG_CLUSTER_VARIANT(x_cs_t2x4x2, 0, 2, 4, 2, 4)
TG_CLUSTER_VARIANT(x_cr_t2x4x2, 1, 2, 4, 2, 4)
static const TiledShape CLUSTER_SPLIT[] = {
    {"cluster 128x128 8w (backend > 32)", gemm_classes_cluster_store_t4x2x4, gemm_classes_cluster_residual_t4x2x4, 4, 2, 4, 3},
    {"cluster 128x32 4w (backend <= 32)", gemm_classes_cluster_store_t2x4x1, gemm_classes_cluster_residual_t2x4x1, 2, 4, 1, 4},
    {"cluster 128x64 8w", x_cs_t2x4x2, x_cr_t2x4x2, 2, 4, 2, 4},
};
// the ring and the class sums of the tile
static int clusterSmem(const TiledShape& s) { return tiledSmem(s) + 16 * s.mf * s.nwr * 32 * s.nwt * 4; }
static const TiledShape CLASS_SPLIT[] = {
    {"classes 128x128 8w (backend > 32)", gemm_classes_t4x2x4, nullptr, 4, 2, 4, 3},
    {"classes 128x32 4w (backend <= 32)", gemm_classes_t2x4x1, nullptr, 2, 4, 1, 4},
    {"classes 128x64 8w", x_tc_t2x4x2, nullptr, 2, 4, 2, 4},
    {"classes 128x128 16w", x_tc_t2x4x4, nullptr, 2, 4, 4, 3},
    {"classes 64x64 4w", x_tc_t2x2x2, nullptr, 2, 2, 2, 4},
};
struct TiledExpert { const char* name; const void* f; int mats, mf, nwr, nwt = 1, stages = 4; };
static const TiledExpert TILED_EXPERT[] = {
    {"tiled 64 rows 4w (backend)", (const void*)gemm_swiglu_t1x4x1, 2, 1, 4},
    {"tiled 128 rows 8w", (const void*)x_sw_t1x8x1, 2, 1, 8},
    {"tiled 128 rows 4w mf2", (const void*)x_sw_t2x4x1, 2, 2, 4},
    {"tiled 32 rows 2w", (const void*)x_sw_t1x2x1, 2, 1, 2},
    {"tiled 128 rows 4w (backend)", (const void*)gemm_store_t2x4x1, 1, 2, 4},
    {"tiled 64 rows 4w", (const void*)x_ds_t1x4x1, 1, 1, 4},
    {"tiled 64 rows 2w", (const void*)x_ts_t2x2x1s4, 1, 2, 2},
};
// over 64-pair tiles
static const TiledExpert TILED_EXPERT_64[] = {
    {"64x64 8w", (const void*)x_sw_t1x4x2, 2, 1, 4, 2},
    {"64x64 4w mf2", (const void*)x_sw_t2x2x2, 2, 2, 2, 2},
    {"128x64 8w mf2", (const void*)x_sw_t2x4x2, 2, 2, 4, 2, 3},
    {"128x64 8w mf2", (const void*)x_ds_t2x4x2, 1, 2, 4, 2},
};
static int tiledExpertSmem(const TiledExpert& t) {
    return t.stages * (t.mats * 16 * t.mf * t.nwr * 64 + 32 * t.nwt * 128);
}

// dynamic shared memory of a persistent variant: 3 ring stages + the reduction's 7 partial tiles of one pass of
// `pass` token groups (PersistentGemm.sharedBytes)
static int pSmemOf(int mats, int rg, int pass) { return 3 * mats * rg * 16 * 512 + 7 * mats * pass * 4 * 128; }


static bf16* randomBf16(long long n, unsigned long long seed, float scale) {
    bf16* p;
    CK(cudaMalloc(&p, n * sizeof(bf16)));
    fill_random_bf16<<<4096, 256>>>(p, n, seed, scale, 0.f);
    CK(cudaGetLastError());
    return p;
}

static float* randomF32(long long n, unsigned seed) {
    std::vector<float> h(n);
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.f, 1.f);
    for (auto& v : h) v = d(rng);
    float* p;
    CK(cudaMalloc(&p, n * 4));
    CK(cudaMemcpy(p, h.data(), n * 4, cudaMemcpyHostToDevice));
    return p;
}


struct Grouping {
    int tile;
    int *sortedTok, *pairSlot, *tiles, *numTiles, *rankTmp;
    int maxTiles, numTilesHost;
};

// the pairs grouped by expert with tiles of `tile` pairs, and (tile2 > 0) the same slots cut into tiles of tile2
// pairs, returned in *second (what the backend's expert products use at large batches)
static Grouping group(const int* topIds, int pairs, int K, int E, int tile, int tile2 = 0, Grouping* second = nullptr) {
    Grouping g{};
    g.tile = tile;
    g.maxTiles = (pairs + tile - 1) / tile + E;
    CK(cudaMalloc(&g.sortedTok, pairs * 4));
    CK(cudaMalloc(&g.pairSlot, pairs * 4));
    CK(cudaMalloc(&g.rankTmp, pairs * 4));
    CK(cudaMalloc(&g.tiles, 12 * g.maxTiles));
    CK(cudaMalloc(&g.numTiles, 4));
    Grouping g2 = g;
    if (tile2 > 0) {
        g2.tile = tile2;
        CK(cudaMalloc(&g2.tiles, 12 * g.maxTiles));
        CK(cudaMalloc(&g2.numTiles, 4));
    }
    group_by_expert<<<1, 1024>>>(topIds, pairs, K, E, tile, tile2, g.rankTmp, g.sortedTok, g.pairSlot, g.tiles,
                                 g.numTiles, g2.tiles, g2.numTiles, nullptr);
    CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(&g.numTilesHost, g.numTiles, 4, cudaMemcpyDeviceToHost));
    if (tile2 > 0) {
        CK(cudaMemcpy(&g2.numTilesHost, g2.numTiles, 4, cudaMemcpyDeviceToHost));
        *second = g2;
    }
    return g;
}

// rows of `y` (slot order of `g`) equal to rows of `ref` (slot order of `r`), per (token, k) pair
static bool samePairs(const float* y, const Grouping& g, const float* ref, const Grouping& r, int pairs, int width) {
    auto hy = toHost(y, (long long)pairs * width), hr = toHost(ref, (long long)pairs * width);
    auto sg = toHost(g.pairSlot, pairs), sr = toHost(r.pairSlot, pairs);
    for (int p = 0; p < pairs; p++)
        if (memcmp(&hy[(size_t)sg[p] * width], &hr[(size_t)sr[p] * width], width * 4) != 0) return false;
    return true;
}


static void report(const char* what, const char* variant, bool same, double us, double bytes) {
    printf("%-22s %-22s %-10s %9.1f us  %6.2f TB/s\n", what, variant, same ? "identical" : "DIFFERENT", us,
           bytes / (us * 1e-6) / 1e12);
}

// ---- few rows (decode at batch <= 32): gemm_store / gemm_residual, the K-split kernels the backend runs there.
// The replacements tried (v38's streamed and v44's chain-major GEMMs: same bits, slower on an H100,
// docs/cuda-notes.md) were removed; a new candidate belongs beside it here, checked bit for bit against yRef. ----
// gemm_bench small [M ...] (default 1 10 16 32): QKV (5,120 x 2,048) and O + residual (2,048 x 4,096) at M rows.
// The K-split kernel's output is checked against a CPU double-precision sum (W x the split rows' hi + lo; O: plus
// the residual). Timing: 20 launches back to back (as in the decode graph) over 8 copies of the weights in turn
// (more bytes than L2 holds, so every launch streams its weights from HBM, as a step's 48 layers do).
// GB/s = weight bytes / time.
static int smallRows(int argc, char** argv) {
    std::vector<int> ms;
    for (int i = 2; i < argc; i++) ms.push_back(atoi(argv[i]));
    if (ms.empty()) ms = {1, 10, 16, 32};
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    int sms = prop.multiProcessorCount;
    printf("%s, %d SMs: dense products at few rows, K-split (gemm_store / gemm_residual)\n", prop.name, sms);
    const int H = 2048, QKV = 5120, QD = 4096, COPIES = 8;
    int maxM = *std::max_element(ms.begin(), ms.end());
    bool ok = true;
    struct Case { const char* what; bool residual; int k, n; };
    for (const Case& dc : {Case{"QKV", false, H, QKV}, Case{"O (+residual)", true, QD, H}}) {
        std::vector<bf16*> w;
        for (int c = 0; c < COPIES; c++) w.push_back(randomBf16((long long)dc.n * dc.k, 40 + c, 0.05f));
        float* xin = randomF32((long long)maxM * dc.k, 50);
        const float* in = presplit(xin, maxM, dc.k);
        float* base = randomF32((long long)maxM * dc.n, 51);
        float *y, *yRef;
        CK(cudaMalloc(&y, (size_t)maxM * dc.n * 4));
        CK(cudaMalloc(&yRef, (size_t)maxM * dc.n * 4));
        double bytes = (double)dc.n * dc.k * 2;
        // the CPU reference's inputs: weights copy 0 and the split rows as the kernels read them (hi + lo)
        auto hw = toHost(w[0], (size_t)dc.n * dc.k);
        auto hs = toHost(in, (size_t)maxM * dc.k);
        auto hbase = toHost(base, (size_t)maxM * dc.n);
        auto bfv = [](uint16_t b) { uint32_t u = (uint32_t)b << 16; float f; memcpy(&f, &u, 4); return f; };
        auto xval = [&](int row, int k) { // split row: hi at bf16 index 16 (k / 8) + k % 8, lo 8 further
            const uint16_t* b = reinterpret_cast<const uint16_t*>(&hs[(size_t)row * dc.k]);
            return (double)bfv(b[16 * (k / 8) + k % 8]) + (double)bfv(b[16 * (k / 8) + k % 8 + 8]);
        };
        for (int M : ms) {
            if (M < 1) { printf("M=%d: no rows, skipped\n", M); continue; }
            long long outN = (long long)M * dc.n;
            dim3 grid(cdiv(M, 16), cdiv(dc.n, 16));
            int blocks = grid.x * grid.y;
            auto prep = [&](float* out) {
                if (dc.residual) CK(cudaMemcpy(out, base, outN * 4, cudaMemcpyDeviceToDevice));
                else CK(cudaMemset(out, 0xff, outN * 4));
            };
            int copy = 0;
            auto launch = [&](GemmFn f, float* out) {
                f<<<grid, 256>>>(in, dc.k, nullptr, w[copy], 0LL, dc.n, dc.k, out, dc.n, nullptr, nullptr, M);
                copy = (copy + 1) % COPIES;
            };
            GemmFn ref = dc.residual ? gemm_residual : gemm_store;
            prep(yRef);
            copy = 0;
            launch(ref, yRef);
            CK(cudaDeviceSynchronize());
            // the K-split kernel against the CPU: |y - sum| <= 1e-4 * sum |w x| + 1e-6 (fp32 accumulation)
            {
                auto hy = toHost(yRef, outN);
                double worst = 0;
                for (int s = 0; s < M; s++)
                    for (int n = 0; n < dc.n; n++) {
                        double sum = 0, mag = 0;
                        for (int k = 0; k < dc.k; k++) {
                            double p = (double)bfv(reinterpret_cast<const uint16_t*>(hw.data())[(size_t)n * dc.k + k])
                                       * xval(s, k);
                            sum += p;
                            mag += fabs(p);
                        }
                        if (dc.residual) sum += hbase[(size_t)s * dc.n + n];
                        double err = fabs(hy[(size_t)s * dc.n + n] - sum) / (1e-4 * mag + 1e-6);
                        worst = std::max(worst, err);
                    }
                bool cpuOk = worst <= 1.0;
                ok = ok && cpuOk;
                printf("%-14s M=%-3d K-split vs CPU: %s (worst error %.3f of the tolerance)\n", dc.what, M,
                       cpuOk ? "ok" : "FAILED", worst);
            }
            double refUs = timeIt([&] { launch(ref, y); }, 15, 20);
            printf("%-14s M=%-3d %-24s %8.2f us %7.0f GB/s  (%d blocks)\n", dc.what, M, "K-split", refUs,
                   bytes / (refUs * 1e-6) / 1e9, blocks);
        }
    }
    printf(ok ? "all checks passed\n" : "CHECKS FAILED\n");
    return ok ? 0 : 1;
}

int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "small") return smallRows(argc, argv);
    int T = argc > 1 ? atoi(argv[1]) : 256;
    const int E = 128, H = 2048, I = 768, K = 8, QKV = 5120, QD = 4096;
    int pairs = T * K;
    for (const void* f : {(const void*)gemm_swiglu_p2x2, (const void*)gemm_store_p4x2, (const void*)x_residual_p4x2,
                          (const void*)x_swiglu_p2x2_nopf, (const void*)x_store_p4x2_pf, (const void*)gemm_store_p4x3,
                          (const void*)x_store_p2x3, (const void*)x_residual_p4x3, (const void*)gemm_swiglu_p2x3,
                          (const void*)x_swiglu_p2x3_pf, (const void*)x_residual_p2x2, (const void*)x_residual_p2x3,
                          (const void*)x_swiglu_p2x2_fp32, (const void*)x_swiglu_p2x3_fp32, (const void*)x_store_p4x3_fp32})
        CK(cudaFuncSetAttribute(f, cudaFuncAttributeMaxDynamicSharedMemorySize, 160 * 1024));
    for (const auto& ts : TILED)
        for (GemmFn f : {ts.store, ts.residual})
            CK(cudaFuncSetAttribute((const void*)f, cudaFuncAttributeMaxDynamicSharedMemorySize, tiledSmem(ts)));
    for (const auto& te : TILED_EXPERT)
        CK(cudaFuncSetAttribute(te.f, cudaFuncAttributeMaxDynamicSharedMemorySize, tiledExpertSmem(te)));
    for (const auto& te : TILED_EXPERT_64)
        CK(cudaFuncSetAttribute(te.f, cudaFuncAttributeMaxDynamicSharedMemorySize, tiledExpertSmem(te)));
    for (const auto& cs : CLASS_SPLIT)
        CK(cudaFuncSetAttribute((const void*)cs.store, cudaFuncAttributeMaxDynamicSharedMemorySize, tiledSmem(cs)));
    for (const auto& cs : CLUSTER_SPLIT)
        for (GemmFn f : {cs.store, cs.residual})
            CK(cudaFuncSetAttribute((const void*)f, cudaFuncAttributeMaxDynamicSharedMemorySize, clusterSmem(cs)));
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("%s, %d SMs, T=%d tokens, %d pairs%s\n", prop.name, prop.multiProcessorCount, T, pairs,
           argc > 2 ? " (balanced routing)" : "");

    bf16 *Wg = randomBf16((long long)E * I * H, 1, 0.05f), *Wu = randomBf16((long long)E * I * H, 2, 0.05f);
    bf16* Wd = randomBf16((long long)E * H * I, 3, 0.05f);
    bf16 *Wqkv = randomBf16((long long)QKV * H, 4, 0.05f), *Wo = randomBf16((long long)H * QD, 5, 0.05f);
    float *xn = randomF32((long long)T * H, 6), *attn = randomF32((long long)T * QD, 7);
    // routing: K distinct experts per token
    std::vector<int> ids(pairs);
    std::mt19937 rng(8);
    bool balanced = argc > 2 && std::string(argv[2]) == "balanced";
    for (int t = 0; t < T && balanced; t++)
        for (int k = 0; k < K; k++) ids[t * K + k] = (t * K + k) % E;
    for (int t = 0; t < T && !balanced; t++) {
        std::vector<int> e(E);
        for (int i = 0; i < E; i++) e[i] = i;
        std::shuffle(e.begin(), e.end(), rng);
        for (int k = 0; k < K; k++) ids[t * K + k] = e[k];
    }
    int* topIds;
    CK(cudaMalloc(&topIds, pairs * 4));
    CK(cudaMemcpy(topIds, ids.data(), pairs * 4, cudaMemcpyHostToDevice));
    std::vector<bool> touched(E);
    for (int v : ids) touched[v] = true;
    int distinct = (int)std::count(touched.begin(), touched.end(), true);
    Grouping g24;
    Grouping g16 = group(topIds, pairs, K, E, 16, 24, &g24);
    printf("distinct experts %d, expert tiles of 16 / 24 pairs: %d / %d\n", distinct, g16.numTilesHost, g24.numTilesHost);

    float *actRef, *act, *yRef, *y;
    CK(cudaMalloc(&actRef, (size_t)pairs * I * 4));
    CK(cudaMalloc(&act, (size_t)pairs * I * 4));
    CK(cudaMalloc(&yRef, (size_t)std::max(pairs * H, T * QKV) * 4));
    CK(cudaMalloc(&y, (size_t)std::max(pairs * H, T * QKV) * 4));

    // ---- expert gate/up (SwiGLU) ----
    double upBytes = (double)distinct * 2 * I * H * 2;
    int sms = prop.multiProcessorCount;
    auto grid = [&](int x, int y, int perSm) { return perSm ? dim3(perSm * sms) : dim3(x, y); };
    float* xnPs = presplit(xn, T, H);
    const float* swigluIn = xnPs;
    auto swiglu = [&](SwigluFn f, const Grouping& g, int rowsPerBlock, int smem, float* out, int threads = 256,
                      int perSm = 0) {
        f<<<grid(g.maxTiles, (I + rowsPerBlock - 1) / rowsPerBlock, perSm), threads, smem>>>(
            swigluIn, H, g.sortedTok, Wg, Wu, (long long)I * H, I, H, out, I, g.tiles, g.numTiles, 0);
    };
    swiglu(x_swiglu_wide_nohint, g16, 32, 0, actRef);
    CK(cudaDeviceSynchronize());
    report("gate/up", "wide, no hint (ref.)", true, timeIt([&] { swiglu(x_swiglu_wide_nohint, g16, 32, 0, actRef); }, 15, 1), upBytes);
    struct SV { const char* name; SwigluFn f; const Grouping* g; int rows, smem, threads, perSm = 0; };
    SV sv[] = {
        {"narrow", gemm_swiglu, &g16, 16, 0, 256},
        {"wide", gemm_swiglu_wide, &g16, 32, 0, 256},
        {"persistent p2x2", gemm_swiglu_p2x2, &g16, 32, pSmemOf(2, 2, 2), 256, 2},
        {"persistent p2x2 no pf", x_swiglu_p2x2_nopf, &g16, 32, pSmemOf(2, 2, 2), 256, 2},
        {"24-tiles p2x3", gemm_swiglu_p2x3, &g24, 32, pSmemOf(2, 2, 1), 256, 2},
        {"24-tiles p2x3 pf", x_swiglu_p2x3_pf, &g24, 32, pSmemOf(2, 2, 1), 256, 2},
        {"p2x2 fp32 in", x_swiglu_p2x2_fp32, &g16, 32, pSmemOf(2, 2, 2), 256, 2},
        {"24-tiles p2x3 fp32 in", x_swiglu_p2x3_fp32, &g24, 32, pSmemOf(2, 2, 1), 256, 2},
    };
    for (auto& v : sv) {
        swigluIn = strstr(v.name, "fp32") ? xn : xnPs;
        CK(cudaMemset(act, 0xff, (size_t)pairs * I * 4));
        swiglu(v.f, *v.g, v.rows, v.smem, act, v.threads, v.perSm);
        CK(cudaDeviceSynchronize());
        bool same = samePairs(act, *v.g, actRef, g16, pairs, I);
        report("gate/up", v.name, same, timeIt([&] { swiglu(v.f, *v.g, v.rows, v.smem, act, v.threads, v.perSm); }, 15, 1), upBytes);
    }

    // ---- expert down ----
    double downBytes = (double)distinct * H * I * 2;
    auto down = [&](GemmFn f, const Grouping& g, const float* in, int rowsPerBlock, int smem, float* out,
                    int threads = 256, int perSm = 0) {
        f<<<grid(g.maxTiles, (H + rowsPerBlock - 1) / rowsPerBlock, perSm), threads, smem>>>(
            in, I, nullptr, Wd, (long long)H * I, H, I, out, H, g.tiles, g.numTiles, 0);
    };
    down(gemm_store_wide, g16, actRef, 64, 0, yRef);
    CK(cudaDeviceSynchronize());
    report("down", "wide (ref.)", true, timeIt([&] { down(gemm_store_wide, g16, actRef, 64, 0, yRef); }, 15, 1), downBytes);
    struct DV { const char* name; GemmFn f; const Grouping* g; const float* in; int rows, smem, threads, perSm = 0; };
    DV dv[] = {
        {"narrow", gemm_store, &g16, actRef, 16, 0, 256},
        {"persistent p4x2", gemm_store_p4x2, &g16, actRef, 64, pSmemOf(1, 4, 2), 256, 2},
        {"persistent p4x2 pf", x_store_p4x2_pf, &g16, actRef, 64, pSmemOf(1, 4, 2), 256, 2},
        {"24-tiles p4x3", gemm_store_p4x3, &g24, actRef, 64, pSmemOf(1, 4, 3), 256, 2},
        {"24-tiles p2x3", x_store_p2x3, &g24, actRef, 32, pSmemOf(1, 2, 3), 256, 2},
    };
    for (auto& v : dv) {
        CK(cudaMemset(y, 0xff, (size_t)pairs * H * 4));
        down(v.f, *v.g, v.in, v.rows, v.smem, y, v.threads, v.perSm);
        CK(cudaDeviceSynchronize());
        bool same = samePairs(y, *v.g, yRef, g16, pairs, H);
        report("down", v.name, same, timeIt([&] { down(v.f, *v.g, v.in, v.rows, v.smem, y, v.threads, v.perSm); }, 15, 1), downBytes);
    }

    // ---- expert products over 32-pair tiles (tiled) against the K-split wide kernels over 16-pair tiles of the
    // same slots ----
    {
        Grouping g32;
        Grouping gX = group(topIds, pairs, K, E, 16, 32, &g32);
        float* actX;
        CK(cudaMalloc(&actX, (size_t)pairs * I * 4));
        swigluIn = xnPs;
        swiglu(x_swiglu_wide_nohint, gX, 32, 0, actX);
        down(gemm_store_wide, gX, actX, 64, 0, yRef);
        CK(cudaDeviceSynchronize());
        // tiledRuns: the shapes over the tiles of gt against the K-split products over gr's 16-pair tiles of the same
        // slots (the down product reads xr, the gate/up output laid out by those slots; yr its reference)
        auto tiledRuns = [&](const TiledExpert* shapes, int count, const Grouping& gt, const Grouping& gr,
                             const float* xr, const float* yr) {
            for (int v = 0; v < count; v++) {
                const TiledExpert& te = shapes[v];
                int rows = 16 * te.mf * te.nwr, threads = 32 * te.nwr * te.nwt, smem = tiledExpertSmem(te);
                bool up = te.mats == 2;
                float* out = up ? act : y;
                auto run = [&] {
                    if (up)
                        ((SwigluFn)te.f)<<<dim3(gt.maxTiles, cdiv(I, rows)), threads, smem>>>(
                            xnPs, H, gt.sortedTok, Wg, Wu, (long long)I * H, I, H, act, I, gt.tiles, gt.numTiles, 0);
                    else
                        ((GemmFn)te.f)<<<dim3(gt.maxTiles, cdiv(H, rows)), threads, smem>>>(
                            xr, I, nullptr, Wd, (long long)H * I, H, I, y, H, gt.tiles, gt.numTiles, 0);
                };
                CK(cudaMemset(out, 0xff, (size_t)pairs * (up ? I : H) * 4));
                run();
                CK(cudaDeviceSynchronize());
                bool same = up ? samePairs(act, gt, xr, gr, pairs, I) : samePairs(y, gt, yr, gr, pairs, H);
                report(up ? "gate/up" : "down", te.name, same, timeIt(run, 15, 1), up ? upBytes : downBytes);
            }
        };
        printf("expert tiles of 32 pairs: %d\n", g32.numTilesHost);
        tiledRuns(TILED_EXPERT, sizeof TILED_EXPERT / sizeof TILED_EXPERT[0], g32, gX, actX, yRef);
        // 64-pair tiles: a grouping of their own, with its own K-split references
        Grouping g64;
        Grouping gY = group(topIds, pairs, K, E, 16, 64, &g64);
        float *actY, *yRefY;
        CK(cudaMalloc(&actY, (size_t)pairs * I * 4));
        CK(cudaMalloc(&yRefY, (size_t)pairs * H * 4));
        swiglu(x_swiglu_wide_nohint, gY, 32, 0, actY);
        down(gemm_store_wide, gY, actY, 64, 0, yRefY);
        CK(cudaDeviceSynchronize());
        printf("expert tiles of 64 pairs: %d\n", g64.numTilesHost);
        tiledRuns(TILED_EXPERT_64, sizeof TILED_EXPERT_64 / sizeof TILED_EXPERT_64[0], g64, gY, actY, yRefY);
    }

    // ---- dense products: K-split wide (reference), narrow, persistent ----
    const int V = 151936;
    bf16* Wlm = randomBf16((long long)V * H, 9, 0.05f);
    float *yBig, *yBigRef;
    CK(cudaMalloc(&yBig, (size_t)T * V * 4));
    CK(cudaMalloc(&yBigRef, (size_t)T * V * 4));
    float* partial; // the class-split products' class sums, [8][T][n <= QKV]
    CK(cudaMalloc(&partial, (size_t)GEMM_WARPS * T * QKV * 4));
    auto dense = [&](GemmFn f, dim3 grid, int smem, const float* in, int k, const bf16* w, int n, float* out) {
        f<<<grid, 256, smem>>>(in, k, nullptr, w, 0LL, n, k, out, n, nullptr, nullptr, T);
    };
    struct DenseCase { const char* what; GemmFn ref, pers, pers3, half2, half3; const float* in; int k; const bf16* w; int n; float *out, *outRef; bool residual; };
    DenseCase cases[] = {
        {"QKV", gemm_store_wide, gemm_store_p4x2, gemm_store_p4x3, nullptr, x_store_p2x3, xn, H, Wqkv, QKV, y, yRef, false},
        {"O (+residual)", gemm_residual_wide, x_residual_p4x2, x_residual_p4x3, x_residual_p2x2, x_residual_p2x3, attn, QD, Wo, H, y, yRef, true},
        {"lm_head", gemm_store_wide, gemm_store_p4x2, gemm_store_p4x3, nullptr, nullptr, xn, H, Wlm, V, yBig, yBigRef, false},
    };
    std::vector<float> base((size_t)T * std::max(QKV, H), 0.5f);
    for (auto& dc : cases) {
        long long outN = (long long)T * dc.n;
        auto reset = [&](float* p) { CK(cudaMemcpy(p, base.data(), (size_t)T * H * 4, cudaMemcpyHostToDevice)); };
        double bytes = (double)dc.n * dc.k * 2;
        const float* inPs = presplit(dc.in, T, dc.k);
        dim3 refGrid((T + 15) / 16, (dc.n + 63) / 64);
        if (dc.residual) reset(dc.outRef);
        dense(dc.ref, refGrid, 0, inPs, dc.k, dc.w, dc.n, dc.outRef);
        CK(cudaDeviceSynchronize());
        report(dc.what, "wide (ref.)", true, timeIt([&] { dense(dc.ref, refGrid, 0, inPs, dc.k, dc.w, dc.n, dc.out); }, 15, 1), bytes);
        struct DV2 { std::string name; GemmFn f; dim3 grid; int smem; };
        std::vector<DV2> vs = {{"narrow", dc.residual ? gemm_residual : gemm_store, dim3((T + 15) / 16, (dc.n + 15) / 16), 0},
                               {"persistent p4x2", dc.pers, dim3(2 * sms), pSmemOf(1, 4, 2)},
                               {"persistent p4x3 (24 tokens)", dc.pers3, dim3(2 * sms), pSmemOf(1, 4, 3)}};
        if (dc.half2) vs.push_back({"persistent p2x2", dc.half2, dim3(2 * sms), pSmemOf(1, 2, 2)});
        if (dc.half3) vs.push_back({"persistent p2x3 (24 tokens)", dc.half3, dim3(2 * sms), pSmemOf(1, 2, 3)});
        vs.push_back({"wide fp32 in", dc.residual ? x_residual_wide_fp32 : x_store_wide_fp32, refGrid, 0});
        if (!dc.residual) vs.push_back({"p4x3 fp32 in", x_store_p4x3_fp32, dim3(2 * sms), pSmemOf(1, 4, 3)});
        for (auto& v : vs) {
            const float* in = v.name.find("fp32") != std::string::npos ? dc.in : inPs;
            if (dc.residual) reset(dc.out);
            else CK(cudaMemset(dc.out, 0xff, outN * 4));
            dense(v.f, v.grid, v.smem, in, dc.k, dc.w, dc.n, dc.out);
            CK(cudaDeviceSynchronize());
            bool same = sameAll(dc.out, dc.outRef, outN);
            report(dc.what, v.name.c_str(), same, timeIt([&] { dense(v.f, v.grid, v.smem, in, dc.k, dc.w, dc.n, dc.out); }, 15, 1), bytes);
        }
        // every variant below: output reset, one launch checked bit for bit against the reference, then timed
        auto checkAndTime = [&](const char* name, auto run) {
            if (dc.residual) reset(dc.out);
            else CK(cudaMemset(dc.out, 0xff, outN * 4));
            run();
            CK(cudaGetLastError());
            CK(cudaDeviceSynchronize());
            bool same = sameAll(dc.out, dc.outRef, outN);
            double us = timeIt(run, 15, 1);
            report(dc.what, name, same, us, bytes);
            return 4.0 * T * dc.n * dc.k / (us * 1e-6) / 1e12;
        };
        for (const auto& ts : TILED) {
            GemmFn f = dc.residual ? ts.residual : ts.store;
            dim3 g(cdiv(T, 32 * ts.nwt), cdiv(dc.n, 16 * ts.mf * ts.nwr));
            int threads = 32 * ts.nwr * ts.nwt, smem = tiledSmem(ts);
            double tflops = checkAndTime(ts.name, [&] {
                f<<<g, threads, smem>>>(inPs, dc.k, nullptr, dc.w, 0LL, dc.n, dc.k, dc.out, dc.n, nullptr, nullptr, T);
            });
            printf("%-22s %-22s %38.1f TFLOP/s (hi+lo mma)\n", "", "", tflops);
        }
        // class-split (QKV and O): the class sums into `partial`, then the fold; timed together
        for (const auto& cs : CLASS_SPLIT) {
            if (dc.n > QKV) break;
            dim3 g(cdiv(T, 32 * cs.nwt), cdiv(dc.n, 16 * cs.mf * cs.nwr), GEMM_WARPS);
            int threads = 32 * cs.nwr * cs.nwt, smem = tiledSmem(cs);
            int foldBlocks = cdiv(T * dc.n, 256);
            double tflops = checkAndTime(cs.name, [&] {
                cs.store<<<g, threads, smem>>>(inPs, dc.k, nullptr, dc.w, 0LL, dc.n, dc.k, partial, dc.n, nullptr,
                                               nullptr, T);
                if (dc.residual) gemm_fold_classes_residual<<<foldBlocks, 256>>>(partial, dc.n, T, dc.n, dc.out, dc.n);
                else gemm_fold_classes_store<<<foldBlocks, 256>>>(partial, dc.n, T, dc.n, dc.out, dc.n);
            });
            printf("%-22s %-22s %38.1f TFLOP/s (hi+lo mma), %d + %d blocks\n", "", "", tflops, g.x * g.y * g.z,
                   foldBlocks);
        }
        // the same in one launch, folded through the cluster
        for (const auto& cs : CLUSTER_SPLIT) {
            if (dc.n > QKV) break;
            GemmFn f = dc.residual ? cs.residual : cs.store;
            dim3 g(cdiv(T, 32 * cs.nwt), cdiv(dc.n, 16 * cs.mf * cs.nwr), GEMM_WARPS);
            int threads = 32 * cs.nwr * cs.nwt, smem = clusterSmem(cs);
            double tflops = checkAndTime(cs.name, [&] {
                f<<<g, threads, smem>>>(inPs, dc.k, nullptr, dc.w, 0LL, dc.n, dc.k, dc.out, dc.n, nullptr, nullptr, T);
            });
            printf("%-22s %-22s %38.1f TFLOP/s (hi+lo mma), %d blocks\n", "", "", tflops, g.x * g.y * g.z);
        }
    }
    return 0;
}
