// The dense K-split GEMM for few rows (decode at batch <= 32: QKV, O + residual), laid out "chain-major": the
// same 8 per-warp chains and warp-order reduction as gemm_store / gemm_residual (gemmBody<MODE, 1>), bit for bit,
// with each block's activations staged once in shared memory and each warp's weight chunks in a register ring.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "gemm.cuh"

// Why (docs/cuda-notes.md v44): at 10 rows gemm_residual (O, 2,048 x 4,096, 128 blocks) streams its weights at
// ~0.9 TB/s and gemm_store (QKV, 5,120 x 2,048, 320 blocks) at ~1.5 TB/s. Per block of the K-split kernel:
//  - each of the 8 warps walks its chunks w, w + 8, ... (O 16, QKV 8); its loads sit under per-chunk branches
//    (kok, kok && xok) in front of the chunk's mma, so at most the loop's unroll (4 chunks = 4 KB of weights per
//    warp, 32 KB per SM for O) is in flight and every round of 4 waits for its slowest load;
//  - the activation loads (split rows, L2 hits) are in the same dependent chain: a round cannot start its mma
//    before an L2 round trip, and 10 rows of split activations are 1.25x the block's weight bytes (M / 8): O's 128
//    blocks pull 20 MB of activations through L2 for 16.8 MB of weights, QKV's 320 blocks 26 MB for 21 MB;
//  - O has 128 blocks of 8 warps: one per SM, nothing else to hide a stall.
// Here a block of 8 warps covers RG groups of 16 weight rows and C = 8 / RG of the chains (chains z C .. z C +
// C - 1 for grid z = 0 .. RG - 1): the same number of blocks and warps as the K-split kernel, but a block reads
// only C / 8 of the activations (÷ RG activation traffic), staged once into shared memory by cp.async at the start
// (no activation latency in any chain), while each warp keeps NB chunks of its weights in flight in registers (a
// ring: the loads of chunk c + NB are issued right after the mma of chunk c; predicated, not branched, and
// volatile so that they stay where they are written, ahead of the cp.async wait and the mma). The
// partial sums of the 8 chains of an output then live in different blocks: each warp stores its chain's partials
// to part[w][row][n], and the block of a (row tile, row block) that arrives last (an arrival counter, reset by it:
// graph-safe) adds them in warp order 0 + 1 + ... + 7 and stores (MODE 0) or adds the residual (MODE 1) with
// reduceAndStore's expressions. RG 1 keeps all 8 chains in the block and reduceAndStore itself.
//
// Bits: chain w multiplies its chunks in order, each with mmaChunk on the fragments gemmBody loads (zeros where
// k >= K; tile rows past the count are never stored, and their mma is skipped when a token group is empty), the
// sums are added in warp order and the epilogue is reduceAndStore's: gemm_store's / gemm_residual's bits, whatever
// RG, NB or the batch. bench/cuda/gemm_bench.cu (mode "small") checks every variant bit for bit against them.
//
// Host contract: tiles of 16 rows, numRows <= 32 (part holds 8 x 32 x N floats), K % 8 == 0 (16-byte pieces),
// grid (ceil(rows / 16), ceil(N / (16 RG)), RG), 256 threads, dynamic shared memory gemmSmallSmem bytes;
// arrivals: ceil(rows / 16) x ceil(N / (16 RG)) counters, zero before the first launch.
#define GSMALL_MAX_ROWS 32

// The weights are read once per step (48 layers of them do not fit L2): no L1 allocation, and HINT 2 marks them
// first to leave L2 (keeping the activations, partials and residual there); HINT 1 asks L2 for the 256 bytes
// around each piece; HINT 0 is gemmBody's plain __ldg. ok false: no load, zeros (gemmBody's zeros past K).
template <int HINT>
__device__ __forceinline__ uint4 ldWeightIf(const bf16* p, bool ok, unsigned long long policy) {
    uint4 v;
    int o = ok;
    if (HINT == 2) {
        asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, %5, 0;\n mov.b32 %0, 0;\n mov.b32 %1, 0;\n mov.b32 %2, 0;\n"
            " mov.b32 %3, 0;\n @p ld.global.nc.L1::no_allocate.L2::cache_hint.v4.u32 {%0,%1,%2,%3}, [%4], %6;\n}\n"
            : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p), "r"(o), "l"(policy));
    } else if (HINT == 1) {
        asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, %5, 0;\n mov.b32 %0, 0;\n mov.b32 %1, 0;\n mov.b32 %2, 0;\n"
            " mov.b32 %3, 0;\n @p ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0,%1,%2,%3}, [%4];\n}\n"
            : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p), "r"(o));
    } else {
        asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, %5, 0;\n mov.b32 %0, 0;\n mov.b32 %1, 0;\n mov.b32 %2, 0;\n"
            " mov.b32 %3, 0;\n @p ld.global.nc.v4.u32 {%0,%1,%2,%3}, [%4];\n}\n"
            : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p), "r"(o));
    }
    return v;
}

// Dynamic shared memory of a launch: the staged activations of the block's C chains, [C][chunks per chain][rows of
// the first tile][32 floats] (the host computes the same: ForwardPass.smallDenseSharedBytes).
__host__ __device__ inline int gemmSmallSmem(int rg, int K, int numRows) {
    int chunksPerChain = ((K + 31) / 32 + GEMM_WARPS - 1) / GEMM_WARPS;
    int rows = numRows < GEMM_TILE ? numRows : GEMM_TILE;
    return GEMM_WARPS / rg * chunksPerChain * rows * 32 * 4;
}

template <int MODE, int RG, int NB, int HINT>
__device__ __forceinline__ void gemmSmallBody(const float* X, int ldx, const bf16* W, int N, int K, float* Y,
                                              int ldy, int numRows, float* part, unsigned* arrivals) {
    static_assert(MODE == 0 || MODE == 1, "store or residual");
    static_assert(GEMM_WARPS % RG == 0, "RG divides the warps");
    constexpr int C = GEMM_WARPS / RG; // chains per block
    extern __shared__ __align__(16) unsigned char skSmem[];
    int start = blockIdx.x * GEMM_TILE;
    int count = min(GEMM_TILE, numRows - start);
    if (count <= 0) return;
    int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, tq = lane & 3;
    int cl = warp % C, r = warp / C;
    int w = blockIdx.z * C + cl;                                  // this warp's chain (gemmBody's warp index)
    int nChunks = (K + 31) / 32;
    int cpwMax = (nChunks + GEMM_WARPS - 1) / GEMM_WARPS;          // chain 0's chunk count, the most
    int cpw = nChunks > w ? (nChunks - w + GEMM_WARPS - 1) / GEMM_WARPS : 0;
    int n0 = (blockIdx.y * RG + r) * 16;

    // 1. the block's activations: chain zC + c2's chunk c, tile row row, 16-byte piece q -> act[(c2, c, row)][4q]
    float* act = reinterpret_cast<float*>(skSmem);
    int pieces = C * cpwMax * count * 8;
    for (int p = tid; p < pieces; p += GEMM_WARPS * 32) {
        int q = p & 7, rest = p >> 3;
        int row = rest % count;
        rest /= count;
        int c = rest % cpwMax, c2 = rest / cpwMax;
        int k = (blockIdx.z * C + c2 + GEMM_WARPS * c) * 32 + 4 * q;
        bool ok = k < K;
        cpAsync16(act + 4 * p, X + (size_t)(start + row) * ldx + (ok ? k : 0), ok);
    }
    cpAsyncCommit();

    // 2. the first NB weight chunks of the chain, in flight while the activations arrive
    const bf16* wa = W + (size_t)min(n0 + g, N - 1) * K;
    const bf16* wb = W + (size_t)min(n0 + g + 8, N - 1) * K;
    unsigned long long policy = 0;
    if (HINT == 2) asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(policy));
    uint4 A[NB], B[NB];
    auto load = [&](int c, uint4& a, uint4& b) {
        int k = (w + GEMM_WARPS * c) * 32 + 8 * tq;
        bool ok = c < cpw && k < K;
        int kk = ok ? k : 0;
        a = ldWeightIf<HINT>(wa + kk, ok, policy);
        b = ldWeightIf<HINT>(wb + kk, ok, policy);
    };
#pragma unroll
    for (int i = 0; i < NB; i++) load(i, A[i], B[i]);
    cpAsyncWaitN<0>();
    __syncthreads();

    // 3. the chain: chunk c's mma, then chunk c + NB's loads into the registers it freed
    float acc[GEMM_SUB * 4];
#pragma unroll
    for (int i = 0; i < GEMM_SUB * 4; i++) acc[i] = 0.f;
    const float* myAct = act + (size_t)cl * cpwMax * count * 32 + 8 * tq;
    bool second = count > 8; // token group 1 holds a row of the tile
    for (int c0 = 0; c0 < cpw; c0 += NB) {
#pragma unroll
        for (int i = 0; i < NB; i++) {
            int c = c0 + i;
            if (c < cpw) {
                const float* a = myAct + (size_t)c * count * 32;
#pragma unroll
                for (int j = 0; j < GEMM_SUB; j++) {
                    if (j > 0 && !second) continue;
                    int row = j * 8 + g;
                    float4 x0 = make_float4(0.f, 0.f, 0.f, 0.f), x1 = x0;
                    if (row < count) {
                        x0 = *reinterpret_cast<const float4*>(a + row * 32);
                        x1 = *reinterpret_cast<const float4*>(a + row * 32 + 4);
                    }
                    uint32_t h[4], l[4];
                    laneHiLo<1>(x0, x1, h, l);
                    mmaChunk(acc + j * 4, A[i], B[i], h, l);
                }
                load(c + NB, A[i], B[i]);
            }
        }
    }

    // 4. the fixed-order reduction over the 8 chains and the epilogue
    if constexpr (RG == 1) {
        __shared__ float red[GEMM_WARPS - 1][GEMM_SUB * 4][32];
        reduceAndStore<MODE, GEMM_SUB, GEMM_SUB * 4>(acc, red, n0, N, start, count, Y, ldy);
    } else {
        __shared__ int lastBlock;
        size_t plane = (size_t)GSMALL_MAX_ROWS * N; // one chain's partials
#pragma unroll
        for (int j = 0; j < GEMM_SUB; j++)
#pragma unroll
            for (int i = 0; i < 4; i++) {
                int n = n0 + g + (i >= 2 ? 8 : 0), ti = j * 8 + 2 * tq + (i & 1);
                if (n < N && ti < count) part[w * plane + (size_t)(start + ti) * N + n] = acc[j * 4 + i];
            }
        __threadfence();
        __syncthreads();
        if (tid == 0) {
            unsigned* ctr = arrivals + blockIdx.x * gridDim.y + blockIdx.y;
            bool last = atomicAdd(ctr, 1u) == gridDim.z - 1;
            if (last) atomicExch(ctr, 0u); // every block of this (tile, row block) has arrived: ready for the next launch
            lastBlock = last;
        }
        __syncthreads();
        if (!lastBlock) return;
        __threadfence();
        constexpr int ROWS = RG * 16;
        int nb = blockIdx.y * ROWS;
        for (int idx = tid; idx < ROWS * count; idx += GEMM_WARPS * 32) {
            int n = nb + idx % ROWS, ti = idx / ROWS;
            if (n >= N) continue;
            size_t o = (size_t)(start + ti) * N + n;
            float v = __ldcg(part + o);
#pragma unroll
            for (int c = 1; c < GEMM_WARPS; c++) v += __ldcg(part + c * plane + o);
            float* y = Y + (size_t)(start + ti) * ldy + n;
            if (MODE == 0) *y = v;
            else *y = *y + v;
        }
    }
}

// Entry points: gemm_store's arguments, then part (8 x 32 x N floats) and arrivals. The host takes _b16 (a chain
// of 16 chunks wholly in registers, one block per SM: O at <= 16 rows) when the grid fits the SMs once, else _b4
// (three blocks per SM: QKV's 320 blocks in one wave). RG 4: 64 weight rows and 2 chains per block.
#define GEMM_SMALL_ARGS GEMM_ARGS, float* part, unsigned* arrivals
#define GEMM_SMALL_VARIANT(name, MODE, RG, NB, HINT, MINB)                                                         \
    extern "C" __global__ void __launch_bounds__(GEMM_WARPS * 32, MINB) name(GEMM_SMALL_ARGS) {                    \
        gemmSmallBody<MODE, RG, NB, HINT>(X, ldx, W, N, K, Y, ldy, numRows, part, arrivals);                        \
    }
GEMM_SMALL_VARIANT(gemm_store_small_b16, 0, 4, 16, 2, 1)
GEMM_SMALL_VARIANT(gemm_store_small_b4, 0, 4, 4, 2, 3)
GEMM_SMALL_VARIANT(gemm_residual_small_b16, 1, 4, 16, 2, 1)
GEMM_SMALL_VARIANT(gemm_residual_small_b4, 1, 4, 4, 2, 3)
