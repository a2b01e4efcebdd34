// Tensor-core K-split GEMM (dense and expert tiles; store, residual, SwiGLU) and the pieces that gemm_staged.cuh and
// gemm_tiled.cuh share (mma, tile rows, hi/lo split, fixed-order reduction, GEMM_ARGS).
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "bf16_split.cuh"
#include "cp_async.cuh"

// ---------------------------------------------------------------------------------------------------------------
// Tensor-core GEMM with bf16 weights and split fp32 activations:  Y[row s][n] = sum_k W_e[n][k] * X[in(s)][k].
// Work unit (one block): a tile of up to GEMM_TILE rows of X × 16 weight rows; the block's GEMM_WARPS warps split
// K (warp w takes the 32-wide k chunks w, w + GEMM_WARPS, ...) and their partial sums are added in warp order in
// shared memory, so the reduction order depends on K only — never on the batch — and small-batch decode still
// spreads each matrix over many blocks (N/16 of them) to keep enough loads in flight.
// mma.m16n8k16: A = 16 weight rows, B = 8 activation rows (GEMM_SUB sub-tiles of 8). Both operands are loaded
// 16 bytes per lane: within each 32-wide k chunk, lane (g, t) holds physical k 8t..8t+7, presented to the mma as
// logical k {2t,2t+1,2t+8,2t+9} (first mma) and likewise for the second: A and B use the same permutation, so the
// dot product is unchanged. The fp32 activation x is split into bf16 hi + lo (x - hi) and both are multiplied.
// MODE 0: store; MODE 1: Y += (residual add); MODE 2: gate/up pair, Y = silu(W.x) * (W2.x).
// tiles == null: dense, tile i covers rows i*GEMM_TILE.. of X (count from numRows); else tiles[i] = (expert,
// start, count) and weights of expert e start at W + e*expertStride.
// ---------------------------------------------------------------------------------------------------------------
#define GEMM_WARPS 8
#define GEMM_TILE 16
#define GEMM_SUB (GEMM_TILE / 8)

__device__ __forceinline__ void mma16816(float* c, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                                         uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// Activation row i of a tile (start, count): gathered through inRow (expert tiles) or taken in order (dense). Rows
// past the tile's count give its last row: the callers load them nowhere and never store them.
__device__ __forceinline__ const float* tileRow(const float* X, int ldx, const int* inRow, int start, int count, int i) {
    int rr = start + min(i, count - 1);
    return X + (size_t)(inRow ? inRow[rr] : rr) * ldx;
}

// This lane's activation rows: token group j holds tile rows j*8 + g (g = lane / 4); xok: the row is in the tile.
template <int SUB>
__device__ __forceinline__ void tileRows(const float* X, int ldx, const int* inRow, int start, int count,
                                         const float** xrow, bool* xok) {
    int g = (threadIdx.x & 31) >> 2;
#pragma unroll
    for (int j = 0; j < SUB; j++) {
        xok[j] = j * 8 + g < count;
        xrow[j] = tileRow(X, ldx, inRow, start, count, j * 8 + g);
    }
}

// The fp32 activations x[0..8) of one lane (physical k 8t..8t+7 of a 32-wide chunk) as bf16 hi + lo halves.
__device__ __forceinline__ void splitHiLo(const float* xs, uint32_t* h, uint32_t* l) {
#pragma unroll
    for (int i = 0; i < 4; i++) {
        h[i] = packBf16(xs[2 * i], xs[2 * i + 1]);
        float lo0 = xs[2 * i] - __bfloat162float(__float2bfloat16_rn(xs[2 * i]));
        float lo1 = xs[2 * i + 1] - __bfloat162float(__float2bfloat16_rn(xs[2 * i + 1]));
        l[i] = packBf16(lo0, lo1);
    }
}

// The lane's 8 activations as bf16 hi / lo halves from its two 16-byte loads at float offset k: PS 1 (the backend)
// — a split row (storeSplit), taken as it is; PS 0 — fp32 x[k .. k+8), split here, as every block did before the
// producers wrote split rows (bench/cuda/gemm_bench.cu keeps it for the comparison). Both give the same bits.
template <int PS>
__device__ __forceinline__ void laneHiLo(float4 a, float4 b, uint32_t* h, uint32_t* l) {
    if (PS) {
        h[0] = __float_as_uint(a.x); h[1] = __float_as_uint(a.y); h[2] = __float_as_uint(a.z); h[3] = __float_as_uint(a.w);
        l[0] = __float_as_uint(b.x); l[1] = __float_as_uint(b.y); l[2] = __float_as_uint(b.z); l[3] = __float_as_uint(b.w);
    } else {
        float xs[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
        splitHiLo(xs, h, l);
    }
}

// One 32-wide chunk into accumulator c: the four mma (hi, lo of the first 16 k, then of the second), in the order
// every GEMM variant must share for bit-identical results. A, B: weight rows g and g + 8, 16 bytes each.
// Compiled with GEMM_INPUTS_BF16 (the module gemm_bf16_inputs.cu: GemmInputs.BF16) only the hi products run: the
// activation rounded to bf16, as a bf16 engine multiplies it — half the tensor-core work, ~8 mantissa bits of x.
__device__ __forceinline__ void mmaChunk(float* c, uint4 A, uint4 B, const uint32_t* h, const uint32_t* l) {
    mma16816(c, A.x, B.x, A.y, B.y, h[0], h[1]);
#ifndef GEMM_INPUTS_BF16
    mma16816(c, A.x, B.x, A.y, B.y, l[0], l[1]);
#endif
    mma16816(c, A.z, B.z, A.w, B.w, h[2], h[3]);
#ifndef GEMM_INPUTS_BF16
    mma16816(c, A.z, B.z, A.w, B.w, l[2], l[3]);
#endif
}

// The fixed-order reduction over the K split (warp 0 + warp 1 + ... + warp 7) of one 16-row group's accumulators
// acc (NACC = mats * SUB * 4 per lane), and its epilogue: c0,c1 -> weight row g, tile rows 2tq, 2tq+1 of the
// 8-token group; c2,c3 -> weight row g+8. MODE 0: store; 1: Y += (residual add); 2: Y = silu(gate) * up, as a
// split row (the down product's input). Every
// thread of the block calls it (two barriers per pass); red holds (GEMM_WARPS - 1) partial tiles.
template <int MODE, int SUB, int NACC, int JPASS = SUB>
__device__ __forceinline__ void reduceAndStore(float* acc, float (*red)[NACC / SUB * JPASS][32], int n0, int N,
                                               int start, int count, float* Y, int ldy) {
    // JPASS < SUB: JPASS token groups per pass through red (a smaller buffer, more barriers); each sum is the same
    constexpr int NMAT = NACC / (SUB * 4);
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
#pragma unroll
    for (int j0 = 0; j0 < SUB; j0 += JPASS) {
        // f(slot in red, index in acc) for every accumulator of this pass's token groups, in a fixed order
        auto forPass = [&](auto f) {
#pragma unroll
            for (int m = 0; m < NMAT; m++)
#pragma unroll
                for (int jj = 0; jj < JPASS; jj++)
#pragma unroll
                    for (int i = 0; i < 4; i++) f((m * JPASS + jj) * 4 + i, m * SUB * 4 + (j0 + jj) * 4 + i);
        };
        if (warp > 0) forPass([&](int ri, int ai) { red[warp - 1][ri][lane] = acc[ai]; });
        __syncthreads();
        if (warp == 0) {
#pragma unroll
            for (int w = 0; w < GEMM_WARPS - 1; w++) forPass([&](int ri, int ai) { acc[ai] += red[w][ri][lane]; });
#pragma unroll
            for (int j = j0; j < j0 + JPASS; j++) {
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    int n = n0 + g + (i >= 2 ? 8 : 0);
                    int ti = j * 8 + 2 * tq + (i & 1);
                    if (n < N && ti < count) {
                        float* yrow = Y + (size_t)(start + ti) * ldy;
                        float v = acc[j * 4 + i];
                        if (MODE == 0) yrow[n] = v;
                        else if (MODE == 1) yrow[n] = yrow[n] + v;
                        else storeSplit(yrow, n, (v / (1.0f + expf(-v))) * acc[SUB * 4 + j * 4 + i]); // the down input
                    }
                }
            }
        }
        __syncthreads();
    }
}

// Weight loads. HINT 1 (the gate/up kernels: -7 % at 32–256 tokens in bench/cuda/gemm_bench.cu, no gain for the
// dense products) skips L1 (the weights are streamed once; L1 stays for the re-read activations) and asks L2 to
// fetch 256 bytes around each 64-byte row piece, which the block's other warps read next.
template <int HINT>
__device__ __forceinline__ uint4 ldWeight(const bf16* p) {
    uint4 v;
    if (HINT == 0) {
        v = __ldg(reinterpret_cast<const uint4*>(p));
    } else {
        asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    }
    return v;
}

template <int MODE, int RG, int SUB = GEMM_SUB, int HINT = 0, int PS = 1>
__device__ __forceinline__ void gemmBody(const float* X, int ldx, const int* inRow, const bf16* W, const bf16* W2,
                                         long long expertStride, int N, int K, float* Y, int ldy, const int* tiles,
                                         const int* numTiles, int numRows) {
    // RG groups of 16 weight rows per block: more rows share each activation load (less activation traffic for
    // big tiles) without touching the reduction order, which only the K split decides.
    constexpr int NACC = (MODE == 2 ? 2 : 1) * SUB * 4;
    __shared__ float red[GEMM_WARPS - 1][NACC][32];
    int tileIdx = blockIdx.x;
    int e = 0, start, count;
    if (tiles) {
        if (tileIdx >= *numTiles) return;
        e = tiles[3 * tileIdx];
        start = tiles[3 * tileIdx + 1];
        count = tiles[3 * tileIdx + 2];
    } else {
        start = tileIdx * (8 * SUB);
        count = min((8 * SUB), numRows - start);
        if (count <= 0) return;
    }
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int g = lane >> 2, tq = lane & 3;
    int nBase = blockIdx.y * 16 * RG;
    const bf16* We = W + (long long)e * expertStride;
    const bf16* We2 = MODE == 2 ? W2 + (long long)e * expertStride : nullptr;
    const bf16* wa[RG];
    const bf16* wb[RG];
    const bf16* wa2[RG];
    const bf16* wb2[RG];
#pragma unroll
    for (int r = 0; r < RG; r++) {
        int rA = min(nBase + r * 16 + g, N - 1), rB = min(nBase + r * 16 + g + 8, N - 1);
        wa[r] = We + (size_t)rA * K;
        wb[r] = We + (size_t)rB * K;
        wa2[r] = MODE == 2 ? We2 + (size_t)rA * K : nullptr;
        wb2[r] = MODE == 2 ? We2 + (size_t)rB * K : nullptr;
    }
    const float* xrow[SUB];
    bool xok[SUB];
    tileRows<SUB>(X, ldx, inRow, start, count, xrow, xok);
    float acc[RG][NACC];
#pragma unroll
    for (int r = 0; r < RG; r++)
#pragma unroll
        for (int i = 0; i < NACC; i++) acc[r][i] = 0.f;

    // deeper unroll for the narrow variant: more 16-byte weight loads in flight per warp (decode is load-bound)
#pragma unroll(RG == 1 ? 4 : 2)
    for (int k0 = warp * 32; k0 < K; k0 += GEMM_WARPS * 32) {
        int k = k0 + 8 * tq;
        bool kok = k < K;
        uint4 A[RG], B[RG], A2[RG], B2[RG];
#pragma unroll
        for (int r = 0; r < RG; r++) {
            A[r] = make_uint4(0, 0, 0, 0); B[r] = A[r]; A2[r] = A[r]; B2[r] = A[r];
            if (kok) {
                A[r] = ldWeight<HINT>(wa[r] + k);
                B[r] = ldWeight<HINT>(wb[r] + k);
                if (MODE == 2) {
                    A2[r] = ldWeight<HINT>(wa2[r] + k);
                    B2[r] = ldWeight<HINT>(wb2[r] + k);
                }
            }
        }
#pragma unroll
        for (int j = 0; j < SUB; j++) {
            float4 x0 = make_float4(0.f, 0.f, 0.f, 0.f), x1 = x0;
            if (kok && xok[j]) {
                x0 = *reinterpret_cast<const float4*>(xrow[j] + k);
                x1 = *reinterpret_cast<const float4*>(xrow[j] + k + 4);
            }
            uint32_t h[4], l[4];
            laneHiLo<PS>(x0, x1, h, l);
#pragma unroll
            for (int r = 0; r < RG; r++) {
                mmaChunk(acc[r] + j * 4, A[r], B[r], h, l);
                if (MODE == 2) mmaChunk(acc[r] + SUB * 4 + j * 4, A2[r], B2[r], h, l);
            }
        }
    }
    // fixed-order reduction over the K split, one row group at a time
#pragma unroll
    for (int r = 0; r < RG; r++) reduceAndStore<MODE, SUB, NACC>(acc[r], red, nBase + r * 16, N, start, count, Y, ldy);
}

// At the start of the dense entries below: an early L2 prefetch (prefetch.global.L2 hints) of the weight pieces
// this lane loads in gemmBody's first unrolled k iteration (4 chunks per warp for RG 1, 2 otherwise: its unroll
// depth), so that the block's first weight loads find them on their way. Only when tiles == null: an expert tile's
// weights are known only from the tile list. A prefetch reads nothing into registers, so the results are the same
// bits with or without it.
template <int MODE, int RG>
__device__ __forceinline__ void gemmPrefetchDense(const bf16* W, const bf16* W2, int N, int K, const int* tiles) {
    if (!tiles) {
        constexpr int CHUNKS = RG == 1 ? 4 : 2;
        int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
        int g = lane >> 2, tq = lane & 3;
        int nBase = blockIdx.y * 16 * RG;
#pragma unroll
        for (int r = 0; r < RG; r++) {
            int rA = min(nBase + r * 16 + g, N - 1), rB = min(nBase + r * 16 + g + 8, N - 1);
#pragma unroll
            for (int c = 0; c < CHUNKS; c++) {
                int k = (warp + c * GEMM_WARPS) * 32 + 8 * tq;
                if (k < K) {
                    asm volatile("prefetch.global.L2 [%0];\n" ::"l"(W + (size_t)rA * K + k));
                    asm volatile("prefetch.global.L2 [%0];\n" ::"l"(W + (size_t)rB * K + k));
                    if (MODE == 2) {
                        asm volatile("prefetch.global.L2 [%0];\n" ::"l"(W2 + (size_t)rA * K + k));
                        asm volatile("prefetch.global.L2 [%0];\n" ::"l"(W2 + (size_t)rB * K + k));
                    }
                }
            }
        }
    }
}

// "_wide" variants (64 weight rows per block for store/residual, 32 for the gate/up pair) are picked by the host
// for steps with many tokens per tile; their results are bit-identical to the narrow ones.
#define GEMM_ARGS const float* X, int ldx, const int* inRow, const bf16* W, long long expertStride, int N, int K, \
    float* Y, int ldy, const int* tiles, const int* numTiles, int numRows
#define GEMM_PASS X, ldx, inRow, W, nullptr, expertStride, N, K, Y, ldy, tiles, numTiles, numRows
// A dense entry: the block's first weight pieces prefetched to L2 (gemmPrefetchDense), then the body.
#define GEMM_DENSE_ENTRY(NAME, MODE, RG)                                                      \
    extern "C" __global__ void __launch_bounds__(GEMM_WARPS * 32) NAME(GEMM_ARGS) {             \
        gemmPrefetchDense<MODE, RG>(W, nullptr, N, K, tiles);                                   \
        gemmBody<MODE, RG>(GEMM_PASS);                                                          \
    }
GEMM_DENSE_ENTRY(gemm_store, 0, 1)
GEMM_DENSE_ENTRY(gemm_store_wide, 0, 4)
GEMM_DENSE_ENTRY(gemm_residual, 1, 1)
GEMM_DENSE_ENTRY(gemm_residual_wide, 1, 4)

#define SWIGLU_ARGS const float* X, int ldx, const int* inRow, const bf16* Wg, const bf16* Wu, long long expertStride, \
    int N, int K, float* Y, int ldy, const int* tiles, const int* numTiles, int numRows
#define SWIGLU_PASS X, ldx, inRow, Wg, Wu, expertStride, N, K, Y, ldy, tiles, numTiles, numRows
extern "C" __global__ void __launch_bounds__(GEMM_WARPS * 32) gemm_swiglu(SWIGLU_ARGS) {
    gemmPrefetchDense<2, 1>(Wg, Wu, N, K, tiles);
    gemmBody<2, 1, GEMM_SUB, 1>(SWIGLU_PASS);
}
extern "C" __global__ void __launch_bounds__(GEMM_WARPS * 32) gemm_swiglu_wide(SWIGLU_ARGS) {
    gemmPrefetchDense<2, 2>(Wg, Wu, N, K, tiles);
    gemmBody<2, 2, GEMM_SUB, 1>(SWIGLU_PASS);
}
