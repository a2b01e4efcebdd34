// Prototype: the output-tiled GEMM of gemm_tiled.cuh on wgmma (sm_90a) instead of mma.sync, with the same bits.
// wgmma's k16 sums equal mma.sync's (wgmma_probe.cu), so the weights stay the register operand, loaded as every
// GEMM of the backend loads them (a lane's 16 bytes = physical k 8t..8t+7 of rows g and g + 8), and the activations
// become the shared-memory operand. wgmma wants 8 consecutive *logical* k per 16-byte row of it; the backend's
// fragments present physical k 8t + 4s + 2h + i (s: the k16 step of the chunk, h: which half of the step, i: 0/1)
// at logical k 8h + 2t + i. x_wgorder rewrites the split rows in that order (what a producer kernel would write),
// so plain 16-byte cp.async pieces land as wgmma's core matrices. Dense products only; each variant is checked bit
// for bit against the K-split kernel, then timed.
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -o /tmp/wgmma_gemm_bench bench/cuda/wgmma_gemm_bench.cu
//   /tmp/wgmma_gemm_bench 256
#include "../../gpu-runtime/src/main/cuda/kernels.cu"
#include "bench_util.cuh"

#include <cstring>
#include <string>

__device__ __forceinline__ void wgmmaN32(float* d, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint64_t desc) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}, {%16, %17, %18, %19}, %20, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(desc)
                 : "memory");
}
__device__ __forceinline__ void wgmmaN64(float* d, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint64_t desc) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(desc)
                 : "memory");
}
__device__ __forceinline__ void wgmmaN128(float* d, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint64_t desc) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(desc)
                 : "memory");
}

template <int N>
__device__ __forceinline__ void wgmmaN(float* d, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint64_t desc) {
    if constexpr (N == 32) wgmmaN32(d, a0, a1, a2, a3, desc);
    else if constexpr (N == 64) wgmmaN64(d, a0, a1, a2, a3, desc);
    else wgmmaN128(d, a0, a1, a2, a3, desc);
}

// shared-memory matrix descriptor, no swizzle: core matrices of 8 rows × 16 bytes, lbo bytes apart along K, sbo
// bytes apart along N
__device__ __forceinline__ uint64_t kMajorDesc(const void* smem, int lbo, int sbo) {
    uint64_t a = (uint64_t)__cvta_generic_to_shared(smem);
    return ((a & 0x3FFFF) >> 4) | ((uint64_t)(lbo >> 4) << 16) | ((uint64_t)(sbo >> 4) << 32);
}

// split rows (rows × K) -> wgmma-ordered rows: per 32-wide chunk, 16-byte unit u = 2b + h (b = 2s + lo: hi/lo of
// k16 step s; h: logical k 0-7 / 8-15 of the step) holds logical k 8h .. 8h + 7 = physical 8t + 4s + 2h + i
__global__ void x_wgorder(const float* split, long long rows, int K, float* out) {
    long long units = rows * (K / 32) * 8;
    for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < units;
         idx += (long long)gridDim.x * blockDim.x) {
        int u = idx & 7;
        long long rc = idx >> 3;
        int c = rc % (K / 32);
        long long r = rc / (K / 32);
        int b = u >> 1, h = u & 1, s = b >> 1, lo = b & 1;
        const bf16* src = reinterpret_cast<const bf16*>(split + r * K + c * 32); // group t: hi [16t, +8), lo [16t + 8, +8)
        bf16* dst = reinterpret_cast<bf16*>(out + r * K + c * 32) + u * 8;
        for (int p = 0; p < 8; p++) {
            int t = p >> 1, i = p & 1;
            dst[p] = src[16 * t + lo * 8 + 4 * s + 2 * h + i];
        }
    }
}

// x_wgmma_gemm's loads: per chunk of the class walk (ClassWalk, gemm_tiled.cuh)
// the 64·WG weight rows' 64 bytes (issueWeightPieces) and the BT tokens' wgmma-ordered split rows, into the ring slot
// after the previous one; one cp.async group per call, empty once the walk is done.
template <int WG, int BT, int STAGES>
struct WgLoads {
    static constexpr int BR = 64 * WG, THREADS = 128 * WG, NQ = BT / 8;
    static constexpr int W_BYTES = BR * 64, STAGE_BYTES = W_BYTES + BT * 128;
    static constexpr int W_PER = BR * 4 / THREADS, X_PER = BT * 8 / THREADS;
    unsigned char* ring;
    const float* xTile;
    int K, nCh, ldSlot = 0;
    const bf16* wSrc[W_PER];
    int xOff[X_PER], xDst[X_PER];
    bool xOk[X_PER];
    ClassWalk walk;
    __device__ __forceinline__ WgLoads(unsigned char* ring, const float* X, int ldx, const bf16* W, int N, int K,
                                       int numRows, int t0, int r0)
        : ring(ring), xTile(X + (size_t)t0 * ldx), K(K), nCh((K + 31) / 32) {
        const int tid = threadIdx.x;
        const bf16* wTile = W + (size_t)r0 * K;
#pragma unroll
        for (int i = 0; i < W_PER; i++) {
            int p = tid + i * THREADS;
            wSrc[i] = wTile + (size_t)(min(r0 + (p >> 2), N - 1) - r0) * K + 8 * (p & 3);
        }
#pragma unroll
        for (int i = 0; i < X_PER; i++) {
            int p = tid + i * THREADS, tok = p >> 3, u = p & 7;
            xOff[i] = (min(t0 + tok, numRows - 1) - t0) * ldx + 4 * u;
            xOk[i] = t0 + tok < numRows;
            xDst[i] = W_BYTES + (((u >> 1) * NQ + (tok >> 3)) * 2 + (u & 1)) * 128 + (tok & 7) * 16;
        }
    }
    __device__ __forceinline__ void issue() {
        if (walk.more(nCh)) {
            unsigned char* st = ring + ldSlot * STAGE_BYTES;
            const int kBase = walk.chunk * 32;
            issueWeightPieces<W_PER, THREADS>(st, wSrc, kBase, K); // gemm_tiled.cuh
#pragma unroll
            for (int i = 0; i < X_PER; i++) {
                int p = threadIdx.x + i * THREADS;
                bool ok = xOk[i] && kBase + 4 * (p & 7) < K;
                cpAsync16(st + xDst[i], xTile + xOff[i] + (ok ? kBase : 0), ok);
            }
            walk.next(nCh);
        }
        ldSlot = ldSlot + 1 == STAGES ? 0 : ldSlot + 1;
        cpAsyncCommit();
    }
};

// The block's outputs from its lanes' totals (MODE 0: store, 1: add to Y).
template <int MODE, int NQ>
__device__ __forceinline__ void wgStore(const float* tot, float* Y, int ldy, int N, int numRows, int t0, int r0) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
#pragma unroll
    for (int j = 0; j < NQ; j++)
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int n = r0 + warp * 16 + g + (i >= 2 ? 8 : 0);
            int t = t0 + 8 * j + 2 * tq + (i & 1);
            if (n < N && t < numRows) {
                float* y = Y + (size_t)t * ldy + n;
                *y = MODE == 0 ? tot[4 * j + i] : *y + tot[4 * j + i];
            }
        }
}

// Block: WG warpgroups = 64·WG weight rows × BT tokens; warp w takes weight rows 16w .. 16w + 15 for all BT tokens.
// The class-by-class walk, the fold and the epilogue are gemm_tiled.cuh's; per chunk the four mma of mmaChunk
// become four wgmma (hi s0, lo s0, hi s1, lo s1) over all BT tokens. PIPE false (v35): STAGES - 1 chunks loading
// ahead and every chunk's wgmma group drained before the next. PIPE true (session 10, written without a GPU): the
// next chunk's work overlaps the running group — per chunk c: wait for its stage, refill the stage of chunk c - 2
// (its group is done: see the wait below), load c's weight fragments into the register pair of c's parity (A0/B0
// even, A1/B1 odd), issue its 4 wgmma, commit, and wait until at most this group runs (wait_group 1), so chunk
// c - 1's registers and stage are free. Each pair is pinned (an empty asm reading and writing it) after the wait
// that ends the group reading it, so the compiler cannot hand its registers to other values while a group still
// reads them — what v35's one-group-in-flight attempt lacked (it gave different bits). The accumulators are pinned
// after each class's final wait, before the fold reads them. Either way the same wgmma in the same order into the
// same accumulators, and the same fold: the K-split kernel's bits.
__device__ __forceinline__ void pinU4(uint4& v) {
    asm volatile("" : "+r"(v.x), "+r"(v.y), "+r"(v.z), "+r"(v.w)::"memory");
}
template <int N>
__device__ __forceinline__ void pinAcc(float* a) {
#pragma unroll
    for (int i = 0; i < N; i++) asm volatile("" : "+f"(a[i])::"memory");
}
// wait until at most N of this warpgroup's committed wgmma groups are still running
template <int N>
__device__ __forceinline__ void wgmmaWait() {
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
template <int BT, int NQ, int W_BYTES>
__device__ __forceinline__ void wgmmaChunk(float* acc, const unsigned char* st, const uint4& A, const uint4& B) {
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
    for (int b = 0; b < 4; b++) {
        int s = b >> 1;
        uint64_t desc = kMajorDesc(st + W_BYTES + b * NQ * 2 * 128, 128, 256);
        wgmmaN<BT>(acc, s ? A.z : A.x, s ? B.z : B.x, s ? A.w : A.y, s ? B.w : B.y, desc);
    }
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}

template <int MODE, int WG, int BT, int STAGES, bool PIPE>
__global__ void __launch_bounds__(128 * WG) x_wgmma_gemm(const float* X, int ldx, const bf16* W, int N, int K, float* Y,
                                                        int ldy, int numRows) {
    static_assert(STAGES >= 2 + PIPE, "a stage being read, one loading, and with PIPE one for the running group");
    constexpr int AHEAD = STAGES - 1 - PIPE; // chunks loading ahead of the one being read
    using Loads = WgLoads<WG, BT, STAGES>;
    constexpr int NQ = Loads::NQ, NACC = BT / 2, W_BYTES = Loads::W_BYTES, STAGE_BYTES = Loads::STAGE_BYTES;
    extern __shared__ __align__(128) unsigned char wsm[];
    const int t0 = blockIdx.x * BT, r0 = blockIdx.y * Loads::BR;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
    Loads loads(wsm, X, ldx, W, N, K, numRows, t0, r0);
    const int nCh = loads.nCh;
#pragma unroll
    for (int s = 0; s < AHEAD; s++) loads.issue();

    float acc[NACC], tot[NACC];
#pragma unroll
    for (int i = 0; i < NACC; i++) acc[i] = tot[i] = 0.f;
    uint4 A0 = make_uint4(0, 0, 0, 0), B0 = A0, A1 = A0, B1 = A0;
    const int row = warp * 16 + g;
    int slot = 0, c = 0;
    for (int cls = 0; cls < GEMM_WARPS; cls++) {
        const int n = cls < nCh ? (nCh - cls + 7) / 8 : 0;
        for (int j = 0; j < n; j++, c++) {
            cpAsyncWaitN<AHEAD - 1>();
            asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); // cp.async data -> wgmma's async proxy
            __syncthreads(); // every warp waited for the group of the chunk whose stage is refilled now
            loads.issue();
            const unsigned char* st = wsm + slot * STAGE_BYTES;
            if (c & 1) {
                A1 = *reinterpret_cast<const uint4*>(st + row * 64 + tq * 16);
                B1 = *reinterpret_cast<const uint4*>(st + (row + 8) * 64 + tq * 16);
                wgmmaChunk<BT, NQ, W_BYTES>(acc, st, A1, B1);
                wgmmaWait<PIPE>();
                pinU4(A0); // chunk c - 1's group, which read them, is done
                pinU4(B0);
            } else {
                A0 = *reinterpret_cast<const uint4*>(st + row * 64 + tq * 16);
                B0 = *reinterpret_cast<const uint4*>(st + (row + 8) * 64 + tq * 16);
                wgmmaChunk<BT, NQ, W_BYTES>(acc, st, A0, B0);
                wgmmaWait<PIPE>();
                pinU4(A1);
                pinU4(B1);
            }
            slot = slot + 1 == STAGES ? 0 : slot + 1;
        }
        wgmmaWait<0>();
        pinU4(A0);
        pinU4(B0);
        pinU4(A1);
        pinU4(B1);
        pinAcc<NACC>(acc);
        foldClass<NACC>(tot, acc, cls);
    }
    cpAsyncWaitN<0>();
    wgStore<MODE, NQ>(tot, Y, ldy, N, numRows, t0, r0);
}

typedef void (*WgFn)(const float*, int, const bf16*, int, int, float*, int, int);
struct WgVariant { const char* name; WgFn store, residual; int wg, bt, stages; };
static const WgVariant VARIANTS[] = {
    {"wgmma 64 rows x 64 tok", x_wgmma_gemm<0, 1, 64, 4, false>, x_wgmma_gemm<1, 1, 64, 4, false>, 1, 64, 4},
    {"wgmma 128 rows x 64 tok", x_wgmma_gemm<0, 2, 64, 4, false>, x_wgmma_gemm<1, 2, 64, 4, false>, 2, 64, 4},
    {"wgmma 64 rows x 128 tok", x_wgmma_gemm<0, 1, 128, 4, false>, x_wgmma_gemm<1, 1, 128, 4, false>, 1, 128, 4},
    {"wgmma 128 rows x 128 tok", x_wgmma_gemm<0, 2, 128, 3, false>, x_wgmma_gemm<1, 2, 128, 3, false>, 2, 128, 3},
    {"wgmma 64 rows x 32 tok", x_wgmma_gemm<0, 1, 32, 6, false>, x_wgmma_gemm<1, 1, 32, 6, false>, 1, 32, 6},
    {"pipe 64 rows x 64 tok", x_wgmma_gemm<0, 1, 64, 5, true>, x_wgmma_gemm<1, 1, 64, 5, true>, 1, 64, 5},
    {"pipe 128 rows x 64 tok", x_wgmma_gemm<0, 2, 64, 5, true>, x_wgmma_gemm<1, 2, 64, 5, true>, 2, 64, 5},
    {"pipe 64 rows x 128 tok", x_wgmma_gemm<0, 1, 128, 4, true>, x_wgmma_gemm<1, 1, 128, 4, true>, 1, 128, 4},
    {"pipe 128 rows x 128 tok", x_wgmma_gemm<0, 2, 128, 4, true>, x_wgmma_gemm<1, 2, 128, 4, true>, 2, 128, 4},
};
static int wgSmem(const WgVariant& v) { return v.stages * (64 * v.wg * 64 + v.bt * 128); }

static bf16* randomBf16(long long n, unsigned long long seed) {
    bf16* p;
    CK(cudaMalloc(&p, n * 2));
    fill_random_bf16<<<4096, 256>>>(p, n, seed, 0.05f, 0.f);
    CK(cudaGetLastError());
    return p;
}

int main(int argc, char** argv) {
    int T = argc > 1 ? atoi(argv[1]) : 256;
    const int H = 2048, QKV = 5120, QD = 4096, V = 151936;
    for (const auto& v : VARIANTS)
        for (WgFn f : {v.store, v.residual})
            CK(cudaFuncSetAttribute((const void*)f, cudaFuncAttributeMaxDynamicSharedMemorySize, wgSmem(v)));
    CK(cudaFuncSetAttribute((const void*)gemm_store_t2x4x1, cudaFuncAttributeMaxDynamicSharedMemorySize, 49152));
    CK(cudaFuncSetAttribute((const void*)gemm_residual_t2x4x1, cudaFuncAttributeMaxDynamicSharedMemorySize, 49152));
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("%s, T=%d rows\n", prop.name, T);
    struct Case { const char* what; int k, n; bool residual; unsigned long long seed; };
    Case cases[] = {{"QKV", H, QKV, false, 4}, {"O (+residual)", QD, H, true, 5}, {"lm_head", H, V, false, 9}};
    for (const auto& cs : cases) {
        bf16* W = randomBf16((long long)cs.n * cs.k, cs.seed);
        float* x = dev(normal((size_t)T * cs.k, 6));
        float* xs = presplit(x, T, cs.k);
        float* xw;
        CK(cudaMalloc(&xw, (size_t)T * cs.k * 4));
        x_wgorder<<<528, 256>>>(xs, T, cs.k, xw);
        float *ref, *y;
        CK(cudaMalloc(&ref, (size_t)T * cs.n * 4));
        CK(cudaMalloc(&y, (size_t)T * cs.n * 4));
        std::vector<float> base((size_t)T * cs.n, 0.5f);
        auto reset = [&](float* p) {
            if (cs.residual) CK(cudaMemcpy(p, base.data(), base.size() * 4, cudaMemcpyHostToDevice));
            else CK(cudaMemset(p, 0xff, base.size() * 4));
        };
        reset(ref);
        auto refRun = [&] { (cs.residual ? gemm_residual_wide : gemm_store_wide)<<<dim3(cdiv(T, 16), cdiv(cs.n, 64)), 256>>>(
                                xs, cs.k, nullptr, W, 0LL, cs.n, cs.k, ref, cs.n, nullptr, nullptr, T); };
        refRun();
        CK(cudaDeviceSynchronize());
        double flop = 4.0 * T * cs.n * cs.k;
        auto line = [&](const char* name, bool same, double us) {
            printf("%-14s %-26s %-10s %9.1f us %7.1f TFLOP/s (hi+lo)\n", cs.what, name, same ? "identical" : "DIFFERENT", us,
                   flop / (us * 1e-6) / 1e12);
        };
        line("K-split wide (ref.)", true, timeIt(refRun, 11, 1));
        auto tiledRun = [&] { (cs.residual ? gemm_residual_t2x4x1 : gemm_store_t2x4x1)<<<dim3(cdiv(T, 32), cdiv(cs.n, 128)), 128, 49152>>>(
                                  xs, cs.k, nullptr, W, 0LL, cs.n, cs.k, y, cs.n, nullptr, nullptr, T); };
        reset(y);
        tiledRun();
        CK(cudaDeviceSynchronize());
        line("tiled mma.sync (backend)", sameAll(y, ref, (long long)T * cs.n), timeIt(tiledRun, 11, 1));
        for (const auto& v : VARIANTS) {
            WgFn f = cs.residual ? v.residual : v.store;
            auto run = [&] { f<<<dim3(cdiv(T, v.bt), cdiv(cs.n, 64 * v.wg)), 128 * v.wg, wgSmem(v)>>>(xw, cs.k, W, cs.n, cs.k, y, cs.n, T); };
            reset(y);
            run();
            CK(cudaDeviceSynchronize());
            line(v.name, sameAll(y, ref, (long long)T * cs.n), timeIt(run, 11, 1));
        }
        CK(cudaFree(W)); CK(cudaFree(x)); CK(cudaFree(xs)); CK(cudaFree(xw)); CK(cudaFree(ref)); CK(cudaFree(y));
    }
    return 0;
}
