// Persistent GEMM with the weights staged in shared memory (included by kernels.cu after gemmBody): the expert
// products below 32 pairs per expert, lm_head below 64 rows and QKV at 128-255 rows (larger products run on the
// output-tiled kernels of gemm_tiled.cuh).
//
// Same work split and the same bits as gemmBody: warp w takes the 32-wide k chunks w, w + 8, ... with the same
// four mma per chunk on the same fragments, and the warps' partial sums are added in warp order. Two things
// differ. (1) The weights arrive by cp.async into a ring of shared-memory stages, a whole round at a time — the 8
// chunks the 8 warps take next, 512 contiguous bytes of every weight row — instead of 16-byte loads into each
// lane's registers. (2) The grid is persistent: about two blocks per multiprocessor walk the work items (expert
// tile × block of weight rows) with the ring running on across items, so the next item's weights are in flight
// while the current one reduces across warps and stores. bench/cuda/gemm_bench.cu measured it against gemmBody
// on the Qwen3-30B-A3B expert shapes (H200, docs/cuda-notes.md v16): the down product 11–30 % faster at every
// batch, gate/up 2–19 % faster up to 128 tokens (the gain was the per-block start and reduction that one-item
// blocks could not overlap; deeper rings, one block per multiprocessor or 32-token tiles were all slower). With its
// activations loaded a round ahead (PREFETCH) gate/up gained another 3–7 % and now matches the K-split kernel at
// 256 tokens too; lm_head and QKV (dense) are 3–18 % faster than with the K-split kernel (v22–v23).
//
// Shared memory per stage: [mat][RG*16 rows][256 k] bf16; the 16-byte pieces of odd rows are XOR-ed by 4 so the
// quarter-warp that reads rows 2i and 2i+1 at the same k touches 8 distinct bank groups. The activations (split rows,
// PS 1) come straight from global memory (L2-resident), 32 bytes per lane and token group, as in gemmBody.


#define SK_ROUND_K (GEMM_WARPS * 32)

__device__ __forceinline__ void cpAsync16b(void* smem, const void* gmem) {
    unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global.L2::256B [%0], [%1], 16;\n" ::"r"(s), "l"(gmem) : "memory");
}

// Persistent form: a fixed grid (a few blocks per multiprocessor) walks the work items — (expert tile or token
// tile, block of ROWS weight rows) — b, b + gridDim.x, ...; the cp.async ring runs on across items, so the next
// item's first weights are already in flight while the current one reduces and stores (the per-block start and
// reduction were what left the one-item-per-block kernels idle: measured by bench/cuda/gemm_bench.cu).
template <int MODE, int RG, int SUB, int STAGES, int PREFETCH = 0, int JPASS = SUB, int PS = 1>
__device__ __forceinline__ void persistentGemmBody(const float* X, int ldx, const int* inRow, const bf16* W,
                                                   const bf16* W2, long long expertStride, int N, int K, float* Y,
                                                   int ldy, const int* tiles, const int* numTiles, int numRows) {
    constexpr int NMAT = MODE == 2 ? 2 : 1;
    constexpr int ROWS = RG * 16;
    constexpr int THREADS = GEMM_WARPS * 32;
    constexpr int TILE = 8 * SUB;
    constexpr int STAGE_BYTES = NMAT * ROWS * SK_ROUND_K * 2;
    constexpr int PIECES = NMAT * ROWS * (SK_ROUND_K / 8); // 16-byte pieces per stage
    constexpr int PER = PIECES / THREADS;
    constexpr int NACC = NMAT * SUB * 4;
    static_assert(PIECES % THREADS == 0, "pieces per thread");
    extern __shared__ __align__(16) unsigned char skSmem[];
    // the reduction's partial tiles; JPASS < SUB: that many token groups per pass (less shared memory)
    constexpr int NRED = NACC / SUB * JPASS;
    float(*red)[NRED][32] = reinterpret_cast<float(*)[NRED][32]>(skSmem + STAGES * STAGE_BYTES);

    const int nBlocksN = (N + ROWS - 1) / ROWS;
    const int nTiles = tiles ? *numTiles : (numRows + TILE - 1) / TILE;
    const int items = nTiles * nBlocksN; // item = nBlock * nTiles + tile: neighbours share weights
    const int tid = threadIdx.x, lane = tid & 31, g = lane >> 2, tq = lane & 3, warp = tid >> 5;
    const int nCh = K / 32, rounds = (nCh + GEMM_WARPS - 1) / GEMM_WARPS;
    const int q = tid & 31;

    // loader: the sequence of (item, round) of this block, one commit group per round
    int ldItem = blockIdx.x, ldRound = 0, ldSlot = 0;
    auto issue = [&]() {
        if (ldItem < items) {
            int tile = ldItem % nTiles, nb = ldItem / nTiles;
            int e = tiles ? tiles[3 * tile] : 0;
            int k0 = ldRound * SK_ROUND_K;
            if (k0 + 8 * q < K) {
                unsigned char* st = skSmem + ldSlot * STAGE_BYTES;
                const bf16* m0 = W + (long long)e * expertStride;
                const bf16* m1 = NMAT == 2 ? W2 + (long long)e * expertStride : nullptr;
#pragma unroll
                for (int i = 0; i < PER; i++) {
                    int rowAll = (tid >> 5) + i * GEMM_WARPS; // mat * ROWS + row
                    int mat = rowAll / ROWS, row = rowAll % ROWS;
                    const bf16* src = (mat == 0 ? m0 : m1) + (size_t)min(nb * ROWS + row, N - 1) * K + k0 + 8 * q;
                    cpAsync16b(st + rowAll * (SK_ROUND_K * 2) + ((q ^ ((row & 1) << 2)) << 4), src);
                }
            }
            if (++ldRound == rounds) {
                ldRound = 0;
                ldItem += gridDim.x;
            }
        }
        ldSlot = ldSlot + 1 == STAGES ? 0 : ldSlot + 1;
        cpAsyncCommit();
    };
#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) issue();

    int slot = 0;
    for (int item = blockIdx.x; item < items; item += gridDim.x) {
        int tile = item % nTiles, nb = item / nTiles;
        int start, count;
        if (tiles) {
            start = tiles[3 * tile + 1];
            count = tiles[3 * tile + 2];
        } else {
            start = tile * TILE;
            count = min(TILE, numRows - start);
        }
        const int nBase = nb * ROWS;
        const float* xrow[SUB];
        bool xok[SUB];
        tileRows<SUB>(X, ldx, inRow, start, count, xrow, xok);
        float acc[RG][NACC];
#pragma unroll
        for (int r = 0; r < RG; r++)
#pragma unroll
            for (int i = 0; i < NACC; i++) acc[r][i] = 0.f;

        // this warp's activations for a round (32 bytes per lane and token group), requested before waiting for the
        // weights; PREFETCH: a round ahead, so their L2 latency hides behind the current round's mma
        float4 xa[SUB], xb[SUB];
        auto loadX = [&](int round, float4* a, float4* b) {
            int chunk = round * GEMM_WARPS + warp;
            int k = chunk * 32 + 8 * tq;
#pragma unroll
            for (int j = 0; j < SUB; j++) {
                a[j] = make_float4(0.f, 0.f, 0.f, 0.f);
                b[j] = a[j];
                if (chunk < nCh && xok[j]) {
                    a[j] = *reinterpret_cast<const float4*>(xrow[j] + k);
                    b[j] = *reinterpret_cast<const float4*>(xrow[j] + k + 4);
                }
            }
        };
        if (PREFETCH) loadX(0, xa, xb);
        for (int round = 0; round < rounds; round++) {
            int chunk = round * GEMM_WARPS + warp;
            bool active = chunk < nCh;
            float4 na[SUB], nb[SUB];
            if (!PREFETCH) loadX(round, xa, xb);
            else if (round + 1 < rounds) loadX(round + 1, na, nb);
            cpAsyncWaitN<STAGES - 2>();
            __syncthreads();
            issue(); // every warp is past the previous round: its slot is free
            if (active) {
                const unsigned char* st = skSmem + slot * STAGE_BYTES;
#pragma unroll
                for (int j = 0; j < SUB; j++) {
                    uint32_t h[4], l[4];
                    laneHiLo<PS>(xa[j], xb[j], h, l);
#pragma unroll
                    for (int r = 0; r < RG; r++) {
#pragma unroll
                        for (int m = 0; m < NMAT; m++) {
                            int rowA = m * ROWS + r * 16 + g; // rowA and rowA + 8 have g's parity
                            int piece = (warp * 4 + tq) ^ ((g & 1) << 2);
                            uint4 A = *reinterpret_cast<const uint4*>(st + rowA * (SK_ROUND_K * 2) + (piece << 4));
                            uint4 B = *reinterpret_cast<const uint4*>(st + (rowA + 8) * (SK_ROUND_K * 2) + (piece << 4));
                            mmaChunk(acc[r] + m * SUB * 4 + j * 4, A, B, h, l);
                        }
                    }
                }
            }
            slot = slot + 1 == STAGES ? 0 : slot + 1;
            if (PREFETCH) {
#pragma unroll
                for (int j = 0; j < SUB; j++) { xa[j] = na[j]; xb[j] = nb[j]; }
            }
        }

        // gemmBody's fixed-order reduction and epilogue; the ring keeps loading the next item meanwhile
#pragma unroll
        for (int r = 0; r < RG; r++) reduceAndStore<MODE, SUB, NACC, JPASS>(acc[r], red, nBase + r * 16, N, start, count, Y, ldy);
    }
    cpAsyncWaitN<0>();
}

// "_p<RG>x<SUB>": RG*16 weight rows (per matrix) × SUB*8 tokens per item; optional PREFETCH (activations a round
// ahead), JPASS (token groups per reduction pass, default SUB) and PS (0: fp32 activations); dynamic shared memory
// STAGES * NMAT * RG*16 * 512 + 7 * NMAT*JPASS*4 * 128 bytes (PersistentGemm.sharedBytes). Launch about two blocks
// per multiprocessor.
#define SK_VARIANT(name, mode, rg, sub, stages, args, pass, ...)                                             \
    extern "C" __global__ void __launch_bounds__(GEMM_WARPS * 32, 2) name(args) {                             \
        persistentGemmBody<mode, rg, sub, stages, ##__VA_ARGS__>(pass);                                       \
    }
SK_VARIANT(gemm_swiglu_p2x2, 2, 2, 2, 3, SWIGLU_ARGS, SWIGLU_PASS, 1)
SK_VARIANT(gemm_store_p4x2, 0, 4, 2, 3, GEMM_ARGS, GEMM_PASS)
// 24-row tiles: the dense QKV product at 128-255 tokens (weights re-read per 24 tokens instead of 16: -12 to -16 %
// at 128-256 tokens), and the expert down product when most experts hold 12-24 pairs (one tile where 16-pair tiles
// would need two: -11 % at 256 tokens)
SK_VARIANT(gemm_store_p4x3, 0, 4, 3, 3, GEMM_ARGS, GEMM_PASS)
// gate/up over the same 24-pair tiles: -7 % at 256 tokens (random routing; +12 % at 128, so only for large batches).
// One token group per reduction pass keeps its shared memory at two blocks per multiprocessor.
SK_VARIANT(gemm_swiglu_p2x3, 2, 2, 3, 3, SWIGLU_ARGS, SWIGLU_PASS, 0, 1)
