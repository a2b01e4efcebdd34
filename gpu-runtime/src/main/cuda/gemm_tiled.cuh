// Output-tiled dense GEMM (included by kernels.cu after gemmBody): Y[t][n] (=, or += for the residual form)
// W[n] · X[t] for many activation rows, where the K-split kernels re-read every weight row per 16–24 tokens and every
// activation row per 64 weight rows and so run at a fraction of the tensor cores' rate (QKV, O and lm_head from
// 64 rows; docs/cuda-notes.md v32).
//
// The same bits as gemmBody. There, warp w of a block sums the 32-wide k chunks w, w + 8, w + 16, ... (its
// "class") with the same four mma per chunk (mmaChunk) and the eight class sums are added in class order. Here a
// block owns a BR × BT output tile and each of its warps a 16·MF × 32 part of it, for which the warp walks all of
// K class by class — chunks 0, 8, 16, ..., then 1, 9, 17, ... — into `acc`, folding each finished class into
// `tot` (tot = acc for class 0, tot += acc after it; a class without chunks, when K < 256, adds +0 as an idle
// warp's zero partial does). Every lane takes the same 16-byte weight and split-row pieces as in gemmBody, so the
// mma fragments, and with them the products and their order, are the same: the result is independent of which
// kernel, tile or batch computed it.
//
// The chunks of the walk arrive through a ring of STAGES shared-memory stages filled by cp.async, one chunk per
// stage: [BR weight rows][64 B] then [BT tokens][128 B of split row]; in odd tokens the 16-byte pieces are swapped
// in pairs (hi <-> lo), so the quarter-warp that reads tokens 2i and 2i + 1 at the same k touches all 32 banks.
// Needs K % 8 == 0 (16-byte pieces); rows past N or numRows are computed from clamped / zero inputs and not stored.
// Dense rows only (inRow, tiles and numTiles are not read).

template <int MODE, int MF, int NWR, int NWT, int STAGES>
__device__ __forceinline__ void tiledGemmBody(const float* X, int ldx, const bf16* W, int N, int K, float* Y, int ldy,
                                              int numRows) {
    constexpr int WROWS = 16 * MF;  // weight rows per warp
    constexpr int BR = WROWS * NWR; // weight rows per block
    constexpr int BT = 32 * NWT;    // tokens per block (32 per warp: four 8-token mma columns)
    constexpr int THREADS = 32 * NWR * NWT;
    constexpr int W_BYTES = BR * 64;
    constexpr int STAGE_BYTES = W_BYTES + BT * 128;
    extern __shared__ __align__(16) unsigned char tgSmem[];
    const int t0 = blockIdx.x * BT, r0 = blockIdx.y * BR;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, tq = lane & 3;
    const int wr = warp % NWR, wt = warp / NWR;
    const int nCh = (K + 31) / 32;

    // loader: the chunks in walk order, one commit group per chunk (an empty group once the walk is issued). Each
    // thread copies the same W_PER weight and X_PER activation pieces of every chunk: their offsets, less the
    // chunk's k, are fixed
    constexpr int W_PER = BR * 4 / THREADS, X_PER = BT * 8 / THREADS;
    static_assert(BR * 4 % THREADS == 0 && BT * 8 % THREADS == 0, "pieces per thread");
    const bf16* wTile = W + (size_t)r0 * K;          // this block's weight rows and
    const float* xTile = X + (size_t)t0 * ldx;       // token rows: the pieces' offsets from them fit 32 bits
    int wOff[W_PER], xOff[X_PER];
    bool xOk[X_PER];
#pragma unroll
    for (int i = 0; i < W_PER; i++) {
        int p = tid + i * THREADS, row = p >> 2;
        wOff[i] = (min(r0 + row, N - 1) - r0) * K + 8 * (p & 3);
    }
#pragma unroll
    for (int i = 0; i < X_PER; i++) {
        int p = tid + i * THREADS, tok = p >> 3;
        xOff[i] = (min(t0 + tok, numRows - 1) - t0) * ldx + 4 * (p & 7);
        xOk[i] = t0 + tok < numRows;
    }
    int ldClass = 0, ldChunk = 0, ldIssued = 0, ldSlot = 0;
    auto issue = [&]() {
        if (ldIssued < nCh) {
            unsigned char* st = tgSmem + ldSlot * STAGE_BYTES;
            const int kBase = ldChunk * 32;
#pragma unroll
            for (int i = 0; i < W_PER; i++) {
                int p = tid + i * THREADS;
                bool ok = kBase + 8 * (p & 3) < K;
                unsigned s = (unsigned)__cvta_generic_to_shared(st + (p << 4));
                asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(wTile + wOff[i] + (ok ? kBase : 0)),
                             "r"(ok ? 16 : 0) : "memory");
            }
#pragma unroll
            for (int i = 0; i < X_PER; i++) {
                int p = tid + i * THREADS, tok = p >> 3, q = p & 7;
                bool ok = xOk[i] && kBase + 4 * q < K;
                cpAsync16(reinterpret_cast<float*>(st + W_BYTES + tok * 128 + ((q ^ (tok & 1)) << 4)),
                          xTile + xOff[i] + (ok ? kBase : 0), ok);
            }
            ldIssued++;
            ldChunk += 8;
            if (ldChunk >= nCh) ldChunk = ++ldClass;
        }
        ldSlot = ldSlot + 1 == STAGES ? 0 : ldSlot + 1;
        cpAsyncCommit();
    };
#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) issue();

    float acc[MF][4][4], tot[MF][4][4]; // [16-row group][8-token group][mma accumulator]
#pragma unroll
    for (int m = 0; m < MF; m++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int i = 0; i < 4; i++) acc[m][j][i] = tot[m][j][i] = 0.f;

    int slot = 0;
    // class by class; a class without chunks (K < 256) folds in acc = +0, as an idle warp's partial in gemmBody
    for (int cls = 0; cls < GEMM_WARPS; cls++) {
        const int n = cls < nCh ? (nCh - cls + 7) / 8 : 0;
        for (int c = 0; c < n; c++) {
            cpAsyncWaitN<STAGES - 2>();
            __syncthreads();
            issue(); // every warp is past the previous chunk: its slot is free
            const unsigned char* st = tgSmem + slot * STAGE_BYTES;
            uint4 A[MF], B[MF]; // weight rows g and g + 8 of each 16-row group, this lane's 16 bytes (k 8tq .. 8tq + 7)
#pragma unroll
            for (int m = 0; m < MF; m++) {
                int row = wr * WROWS + m * 16 + g;
                A[m] = *reinterpret_cast<const uint4*>(st + row * 64 + tq * 16);
                B[m] = *reinterpret_cast<const uint4*>(st + (row + 8) * 64 + tq * 16);
            }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const unsigned char* xr = st + W_BYTES + (wt * 32 + j * 8 + g) * 128; // token parity = g's
                float4 hi = *reinterpret_cast<const float4*>(xr + (((2 * tq) ^ (g & 1)) << 4));
                float4 lo = *reinterpret_cast<const float4*>(xr + (((2 * tq + 1) ^ (g & 1)) << 4));
                uint32_t h[4], l[4];
                laneHiLo<1>(hi, lo, h, l);
#pragma unroll
                for (int m = 0; m < MF; m++) mmaChunk(acc[m][j], A[m], B[m], h, l);
            }
            slot = slot + 1 == STAGES ? 0 : slot + 1;
        }
        // fold the finished class into the total, in class order
#pragma unroll
        for (int m = 0; m < MF; m++)
#pragma unroll
            for (int j = 0; j < 4; j++)
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    tot[m][j][i] = cls == 0 ? acc[m][j][i] : tot[m][j][i] + acc[m][j][i];
                    acc[m][j][i] = 0.f;
                }
    }
    cpAsyncWaitN<0>();
#pragma unroll
    for (int m = 0; m < MF; m++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int i = 0; i < 4; i++) {
                int n = r0 + wr * WROWS + m * 16 + g + (i >= 2 ? 8 : 0);
                int t = t0 + wt * 32 + j * 8 + 2 * tq + (i & 1);
                if (n < N && t < numRows) {
                    float* y = Y + (size_t)t * ldy + n;
                    *y = MODE == 0 ? tot[m][j][i] : *y + tot[m][j][i];
                }
            }
}

// "_t<MF>x<NWR>x<NWT>": blocks of 16·MF·NWR weight rows × 32·NWT tokens, NWR·NWT warps; grid (token tiles, row
// tiles); dynamic shared memory STAGES × (16·MF·NWR × 64 + 32·NWT × 128) bytes (TiledGemm.sharedBytes).
#define TG_VARIANT(name, mode, mf, nwr, nwt, stages, minBlocks)                                                 \
    extern "C" __global__ void __launch_bounds__(32 * nwr * nwt, minBlocks) name(GEMM_ARGS) {                 \
        tiledGemmBody<mode, mf, nwr, nwt, stages>(X, ldx, W, N, K, Y, ldy, numRows);                           \
    }
// 128 weight rows × 32 tokens, four warps, 4 stages (48 KB): the best of the shapes gemm_bench.cu measured for
// lm_head at 64-256 rows and QKV / O at >= 256 (docs/cuda-notes.md v32)
TG_VARIANT(gemm_store_t2x4x1, 0, 2, 4, 1, 4, 3)
TG_VARIANT(gemm_residual_t2x4x1, 1, 2, 4, 1, 4, 3)
