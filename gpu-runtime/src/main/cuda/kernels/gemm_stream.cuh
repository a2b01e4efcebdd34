// The dense K-split GEMM for few rows (decode at batch <= 32: QKV, O + residual), with each lane's weight and
// activation fragments streamed through a per-warp cp.async ring: the same products as gemm_store / gemm_residual
// (gemmBody<MODE, 1>), bit for bit, with S chunks of loads in flight per warp instead of the unrolled loop's.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "gemm.cuh"

// Why: at 10 rows gemm_residual (O, 2,048 x 4,096: 128 blocks, one per SM) streamed its weights at ~0.9 TB/s and
// gemm_store (QKV, 5,120 x 2,048: 320 blocks) at ~1.5 TB/s. A warp of the K-split kernel walks its chunks w, w + 8,
// ... in a loop unrolled by 4: it issues 4 chunks' loads (4 KB of weights per warp), waits for all of them, then
// multiplies, so on average ~2 KB per warp — ~16-40 KB per SM — are in flight, and each activation load (an L2 hit,
// but ~0.3-0.5 us under load) sits in the same dependent chain. Little's law at ~3 TB/s and ~1-1.5 us of DRAM
// latency wants ~25-40 KB of weights in flight per SM *all the time*. Here every lane copies its own fragments of
// chunk i + S (two 16-byte weight pieces, four 16-byte split-row pieces) into its ring slot right after it has
// multiplied chunk i, so S chunks stay in flight per warp without a block barrier (a lane reads back only what it
// copied itself: cp.async.wait_group is the only synchronisation), and the residual of MODE 1 is read at the
// start instead of after the reduction.
//
// Bits: warp w multiplies the chunks w, w + 8, ... in order, each with mmaChunk on the same fragments (zeros where
// k >= K or the tile row is past the count, as gemmBody's), into acc[j * 4 ..] for token group j; the partials are
// added in warp order (warp 0 + warp 1 + ... + warp 7) and the epilogue is reduceAndStore's — the same sums as
// gemmBody<MODE, 1, GEMM_SUB>, whatever S, the tile or the batch. bench/cuda/gemm_bench.cu (mode "small") checks
// every variant bit for bit against gemm_store / gemm_residual at 1, 10, 16 and 32 rows.
//
// Dynamic shared memory: GEMM_WARPS * S * GSTREAM_PIECES * 32 lanes * 16 bytes (S * 24 KB) + the reduction's
// partial tiles (static, 7 KB). Tiles of 16 rows (GEMM_SUB 2) only; the host picks S (2, 4 or 8) as the deepest
// ring whose blocks still fit the device in one wave (ForwardPass.streamStages).
#define GSTREAM_PIECES (2 + 2 * GEMM_SUB) // A, B (weight rows g, g + 8), then per token group the two split-row halves

template <int HINT>
__device__ __forceinline__ void cpAsyncWeight16(void* smem, const void* gmem, bool valid) {
    if (HINT == 0) {
        cpAsync16(smem, gmem, valid);
    } else {    // L2 fetches the 256 bytes around the piece: the block's other warps read its neighbours
        unsigned s = (unsigned)__cvta_generic_to_shared(smem);
        int n = valid ? 16 : 0;
        asm volatile("cp.async.cg.shared.global.L2::256B [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(n) : "memory");
    }
}

template <int MODE, int S, int HINT>
__device__ __forceinline__ void gemmStreamBody(const float* X, int ldx, const bf16* W, int N, int K, float* Y, int ldy,
                                               int numRows) {
    static_assert(MODE == 0 || MODE == 1, "store or residual");
    constexpr int SUB = GEMM_SUB, NACC = SUB * 4;
    // the persistent kernels' dynamic shared-memory symbol (gemm_staged.cuh): one declaration in the module, so the
    // PTX in front of the existing entries stays as it was (scripts/ptx-same.sh --entries)
    extern __shared__ __align__(16) unsigned char skSmem[];
    __shared__ float red[GEMM_WARPS - 1][NACC][32];
    int start = blockIdx.x * (8 * SUB);
    int count = min(8 * SUB, numRows - start);
    if (count <= 0) return;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int g = lane >> 2, tq = lane & 3;
    int n0 = blockIdx.y * 16;
    const bf16* wa = W + (size_t)min(n0 + g, N - 1) * K;
    const bf16* wb = W + (size_t)min(n0 + g + 8, N - 1) * K;
    const float* xrow[SUB];
    bool xok[SUB];
    tileRows<SUB>(X, ldx, nullptr, start, count, xrow, xok);
    // this lane's slots: [warp][stage][piece][lane] (a piece of 32 lanes is 512 contiguous bytes: conflict-free)
    uint4* ring = reinterpret_cast<uint4*>(skSmem) + (size_t)warp * S * GSTREAM_PIECES * 32 + lane;
    // the residual this lane adds in the epilogue (warp 0 only), read now: its latency hides behind the main loop
    float res[NACC];
    if (MODE == 1 && warp == 0) {
#pragma unroll
        for (int j = 0; j < SUB; j++)
#pragma unroll
            for (int i = 0; i < 4; i++) {
                int n = n0 + g + (i >= 2 ? 8 : 0), ti = j * 8 + 2 * tq + (i & 1);
                res[j * 4 + i] = n < N && ti < count ? Y[(size_t)(start + ti) * ldy + n] : 0.f;
            }
    }
    // chunk c of this warp covers k0 = (warp + 8c) * 32; the lane's 8 elements start at k0 + 8 tq
    int chunks = K > warp * 32 ? (K - warp * 32 + GEMM_WARPS * 32 - 1) / (GEMM_WARPS * 32) : 0;
    auto issue = [&](int c) { // chunk c's fragments into stage c % S (zero-filled where gemmBody loads zeros)
        if (c < chunks) {
            int k = (warp + GEMM_WARPS * c) * 32 + 8 * tq;
            bool kok = k < K;
            uint4* slot = ring + (size_t)(c % S) * GSTREAM_PIECES * 32;
            cpAsyncWeight16<HINT>(slot, wa + (kok ? k : 0), kok);
            cpAsyncWeight16<HINT>(slot + 32, wb + (kok ? k : 0), kok);
#pragma unroll
            for (int j = 0; j < SUB; j++) {
                bool ok = kok && xok[j];
                cpAsync16(slot + (2 + 2 * j) * 32, xrow[j] + (ok ? k : 0), ok);
                cpAsync16(slot + (3 + 2 * j) * 32, xrow[j] + (ok ? k + 4 : 0), ok);
            }
        }
        cpAsyncCommit(); // one group per chunk index, empty past the end, so wait_group<S - 1> always means chunk c
    };
#pragma unroll
    for (int c = 0; c < S; c++) issue(c);
    float acc[NACC];
#pragma unroll
    for (int i = 0; i < NACC; i++) acc[i] = 0.f;
    for (int c = 0; c < chunks; c++) {
        cpAsyncWaitN<S - 1>();
        const uint4* slot = ring + (size_t)(c % S) * GSTREAM_PIECES * 32;
        uint4 A = slot[0], B = slot[32];
#pragma unroll
        for (int j = 0; j < SUB; j++) {
            uint4 p0 = slot[(2 + 2 * j) * 32], p1 = slot[(3 + 2 * j) * 32];
            float4 x0 = make_float4(__uint_as_float(p0.x), __uint_as_float(p0.y), __uint_as_float(p0.z),
                                    __uint_as_float(p0.w));
            float4 x1 = make_float4(__uint_as_float(p1.x), __uint_as_float(p1.y), __uint_as_float(p1.z),
                                    __uint_as_float(p1.w));
            uint32_t h[4], l[4];
            laneHiLo<1>(x0, x1, h, l);
            mmaChunk(acc + j * 4, A, B, h, l);
        }
        // the refill of this stage comes after the mma that consumed its registers (so the shared loads have
        // returned before the copy can land)
        issue(c + S);
    }
    cpAsyncWaitN<0>();
    // fixed-order reduction over the K split, as reduceAndStore<MODE, SUB, NACC>, with the residual read above
    if (warp > 0) {
#pragma unroll
        for (int i = 0; i < NACC; i++) red[warp - 1][i][lane] = acc[i];
    }
    __syncthreads();
    if (warp == 0) {
#pragma unroll
        for (int w = 0; w < GEMM_WARPS - 1; w++)
#pragma unroll
            for (int i = 0; i < NACC; i++) acc[i] += red[w][i][lane];
#pragma unroll
        for (int j = 0; j < SUB; j++)
#pragma unroll
            for (int i = 0; i < 4; i++) {
                int n = n0 + g + (i >= 2 ? 8 : 0), ti = j * 8 + 2 * tq + (i & 1);
                if (n < N && ti < count) {
                    float* y = Y + (size_t)(start + ti) * ldy + n;
                    float v = acc[j * 4 + i];
                    *y = MODE == 0 ? v : res[j * 4 + i] + v;
                }
            }
    }
}

// Entry points: dense only (tiles of 16 rows in order; grid (ceil(rows / 16), ceil(N / 16)), 256 threads), the
// arguments of gemm_store so the host passes the same list; inRow, expertStride, tiles and numTiles are unused.
#define GEMM_STREAM_VARIANT(name, MODE, S, HINT)                                                                  \
    extern "C" __global__ void __launch_bounds__(GEMM_WARPS * 32) name(GEMM_ARGS) {                              \
        gemmStreamBody<MODE, S, HINT>(X, ldx, W, N, K, Y, ldy, numRows);                                          \
    }
GEMM_STREAM_VARIANT(gemm_store_s2, 0, 2, 1)
GEMM_STREAM_VARIANT(gemm_store_s4, 0, 4, 1)
GEMM_STREAM_VARIANT(gemm_store_s8, 0, 8, 1)
GEMM_STREAM_VARIANT(gemm_residual_s2, 1, 2, 1)
GEMM_STREAM_VARIANT(gemm_residual_s4, 1, 4, 1)
GEMM_STREAM_VARIANT(gemm_residual_s8, 1, 8, 1)
