// Output-tiled GEMM (included by kernels.cu after gemmBody and gemm_staged.cuh) for products over many activation
// rows, where the K-split kernels re-read every weight row per 16–24 tokens and every activation row per 64 weight
// rows and so run at a fraction of the tensor cores' rate: the dense QKV, O and lm_head (from 64–256 rows) and the
// expert products of prefill-sized steps (docs/cuda-notes.md v32–v33). Modes as in gemmBody: 0 Y = W·X, 1 Y += W·X
// (residual), 2 Y = silu(Wg·X) * (Wu·X) as a split row (the expert gate/up pair).
//
// The same bits as gemmBody. There, warp w of a block sums the 32-wide k chunks w, w + 8, w + 16, ... (its
// "class") with the same four mma per chunk (mmaChunk) and the eight class sums are added in class order. Here a
// block owns a BR × 32·NWT output tile and each of its warps a 16·MF × 32 part of it, for which the warp walks all
// of K class by class — chunks 0, 8, 16, ..., then 1, 9, 17, ... — into `acc`, folding each finished class into
// `tot` (tot = acc for class 0, tot += acc after it; a class without chunks, when K < 256, adds +0 as an idle
// warp's zero partial does). Every lane takes the same 16-byte weight and split-row pieces as in gemmBody, so the
// mma fragments, and with them the products and their order, are the same: the result is independent of which
// kernel, tile or batch computed it.
//
// The chunks of the walk arrive through a ring of STAGES shared-memory stages filled by cp.async, one chunk per
// stage: [NMAT][BR weight rows][64 B] then [BT tokens][128 B of split row]; in odd tokens the 16-byte pieces are
// swapped in pairs (hi <-> lo), so the quarter-warp that reads tokens 2i and 2i + 1 at the same k touches all 32
// banks. Needs K % 8 == 0 (16-byte pieces); rows past N or the tile's count are computed from clamped / zero
// inputs and not stored.
//
// Rows: tiles == null — dense, block x takes rows 32·NWT·x .. of X and Y (numRows in all); else block x takes
// tile x of the list (expert, start, count <= 32·NWT), its activation rows gathered through inRow (or slots start..
// when inRow is null), its weights at W + expert · expertStride, its outputs in slot rows start .. start + count.

#include <cooperative_groups.h>

// The loader's place in the class-by-class walk: chunk `chunk` of class `cls`, `issued` chunks so far (classes in
// order, each class's chunks cls, cls + 8, ... below nCh).
struct ClassWalk {
    int cls = 0, chunk = 0, issued = 0;
    __device__ __forceinline__ bool more(int nCh) const { return issued < nCh; }
    __device__ __forceinline__ void next(int nCh) {
        issued++;
        chunk += 8;
        if (chunk >= nCh) chunk = ++cls;
    }
};

// This thread's W_PER 16-byte weight pieces of the chunk at k offset kBase into stage st (piece p = thread +
// i * THREADS: weight row p / 4, k 8 (p % 4) .. of the chunk, at byte 16 p; zero-filled past K).
template <int W_PER, int THREADS>
__device__ __forceinline__ void issueWeightPieces(unsigned char* st, const bf16* const* wSrc, int kBase, int K) {
#pragma unroll
    for (int i = 0; i < W_PER; i++) {
        int p = threadIdx.x + i * THREADS;
        bool ok = kBase + 8 * (p & 3) < K;
        cpAsync16(st + (p << 4), wSrc[i] + (ok ? kBase : 0), ok);
    }
}

// Class cls of the walk is complete: fold its sums into the total in class order (gemmBody's warp-order reduction:
// the total starts as class 0's sums) and clear them for the next class.
template <int N>
__device__ __forceinline__ void foldClass(float* tot, float* acc, int cls) {
#pragma unroll
    for (int i = 0; i < N; i++) {
        tot[i] = cls == 0 ? acc[i] : tot[i] + acc[i];
        acc[i] = 0.f;
    }
}

// The outputs a lane's accumulators hold, as gemmBody's epilogue (reduceAndStore) maps them: c0, c1 -> weight row
// g, tokens 2tq, 2tq + 1; c2, c3 -> row g + 8. f(m, j, i, row, token) for 16-row group m, 8-token group j and mma
// value i, rows counted from nBase and tokens from tBase.
template <int MF, typename F>
__device__ __forceinline__ void forEachLaneOutput(int nBase, int tBase, int g, int tq, F f) {
#pragma unroll
    for (int m = 0; m < MF; m++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int i = 0; i < 4; i++) f(m, j, i, nBase + m * 16 + g + (i >= 2 ? 8 : 0), tBase + j * 8 + 2 * tq + (i & 1));
}

template <int MODE, int MF, int NWR, int NWT, int STAGES, int CLASSES = 0>
__device__ __forceinline__ void tiledGemmBody(const float* X, int ldx, const int* inRow, const bf16* W, const bf16* W2,
                                              long long expertStride, int N, int K, float* Y, int ldy,
                                              const int* tiles, const int* numTiles, int numRows) {
    constexpr int NMAT = MODE == 2 ? 2 : 1;
    constexpr int WROWS = 16 * MF;  // weight rows per warp (per matrix)
    constexpr int BR = WROWS * NWR; // weight rows per block (per matrix)
    constexpr int BT = 32 * NWT;    // tokens per block (32 per warp: four 8-token mma columns)
    constexpr int THREADS = 32 * NWR * NWT;
    constexpr int W_BYTES = NMAT * BR * 64;
    constexpr int STAGE_BYTES = W_BYTES + BT * 128;
    extern __shared__ __align__(16) unsigned char tgSmem[];
    int start, count;
    const bf16 *We = W, *We2 = W2;
    if (tiles) {
        if (blockIdx.x >= *numTiles) return;
        int e = tiles[3 * blockIdx.x];
        start = tiles[3 * blockIdx.x + 1];
        count = tiles[3 * blockIdx.x + 2];
        We = W + e * expertStride;
        if (NMAT == 2) We2 = W2 + e * expertStride;
    } else {
        start = blockIdx.x * BT;
        count = min(BT, numRows - start);
    }
    const int r0 = blockIdx.y * BR;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, tq = lane & 3;
    const int wr = warp % NWR, wt = warp / NWR;
    const int nCh = (K + 31) / 32;
    // CLASSES 1 / 2: this block walks class blockIdx.z alone (gemm_classes_*, below), else every class in order
    const int cls0 = CLASSES ? blockIdx.z : 0, cls1 = CLASSES ? cls0 + 1 : GEMM_WARPS;
    const int nIssue = CLASSES ? (cls0 < nCh ? (nCh - cls0 + 7) / 8 : 0) : nCh;

    // loader: the chunks in walk order, one commit group per chunk (an empty group once the walk is issued). Each
    // thread copies the same W_PER weight and X_PER activation pieces of every chunk: their sources, less the
    // chunk's k, are fixed
    constexpr int W_PER = NMAT * BR * 4 / THREADS, X_PER = BT * 8 / THREADS;
    static_assert(NMAT * BR * 4 % THREADS == 0 && BT * 8 % THREADS == 0, "pieces per thread");
    const bf16* wSrc[W_PER];
    const float* xSrc[X_PER];
    bool xOk[X_PER];
#pragma unroll
    for (int i = 0; i < W_PER; i++) {
        int p = tid + i * THREADS, row = (p >> 2) % BR;
        wSrc[i] = (p < BR * 4 ? We : We2) + (size_t)min(r0 + row, N - 1) * K + 8 * (p & 3);
    }
#pragma unroll
    for (int i = 0; i < X_PER; i++) {
        int p = tid + i * THREADS, tok = p >> 3;
        xSrc[i] = tileRow(X, ldx, inRow, start, count, tok) + 4 * (p & 7);
        xOk[i] = tok < count;
    }
    ClassWalk walk;
    walk.cls = walk.chunk = cls0;
    int ldSlot = 0;
    auto issue = [&]() {
        if (walk.more(nIssue)) {
            unsigned char* st = tgSmem + ldSlot * STAGE_BYTES;
            const int kBase = walk.chunk * 32;
            issueWeightPieces<W_PER, THREADS>(st, wSrc, kBase, K);
#pragma unroll
            for (int i = 0; i < X_PER; i++) {
                int p = tid + i * THREADS, tok = p >> 3, q = p & 7;
#ifdef GEMM_INPUTS_BF16
                if (q & 1) continue; // a lo piece (split row: hi, lo of each 8-element group): never read here
#endif
                bool ok = xOk[i] && kBase + 4 * q < K;
                cpAsync16(st + W_BYTES + tok * 128 + ((q ^ (tok & 1)) << 4), xSrc[i] + (ok ? kBase : 0), ok);
            }
            walk.next(nCh);
        }
        ldSlot = ldSlot + 1 == STAGES ? 0 : ldSlot + 1;
        cpAsyncCommit();
    };
#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) issue();

    // accumulators [matrix][16-row group][8-token group][4 of the mma]: the current class's sums and the total
    constexpr int NACC = NMAT * MF * 4 * 4;
    auto at = [](int a, int m, int j) { return ((a * MF + m) * 4 + j) * 4; };
    float acc[NACC], tot[NACC];
#pragma unroll
    for (int i = 0; i < NACC; i++) acc[i] = tot[i] = 0.f;

    int slot = 0;
    // class by class; a class without chunks (K < 256) folds in acc = +0, as an idle warp's partial in gemmBody
    for (int cls = cls0; cls < cls1; cls++) {
        const int n = cls < nCh ? (nCh - cls + 7) / 8 : 0;
        for (int c = 0; c < n; c++) {
            cpAsyncWaitN<STAGES - 2>();
            __syncthreads();
            issue(); // every warp is past the previous chunk: its slot is free
            const unsigned char* st = tgSmem + slot * STAGE_BYTES;
            // weight rows g and g + 8 of each 16-row group, this lane's 16 bytes (k 8tq .. 8tq + 7)
            uint4 A[NMAT][MF], B[NMAT][MF];
#pragma unroll
            for (int a = 0; a < NMAT; a++)
#pragma unroll
                for (int m = 0; m < MF; m++) {
                    int row = a * BR + wr * WROWS + m * 16 + g;
                    A[a][m] = *reinterpret_cast<const uint4*>(st + row * 64 + tq * 16);
                    B[a][m] = *reinterpret_cast<const uint4*>(st + (row + 8) * 64 + tq * 16);
                }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const unsigned char* xr = st + W_BYTES + (wt * 32 + j * 8 + g) * 128; // token parity = g's
                float4 hi = *reinterpret_cast<const float4*>(xr + (((2 * tq) ^ (g & 1)) << 4));
                float4 lo = *reinterpret_cast<const float4*>(xr + (((2 * tq + 1) ^ (g & 1)) << 4));
                uint32_t h[4], l[4];
                laneHiLo<1>(hi, lo, h, l);
#pragma unroll
                for (int a = 0; a < NMAT; a++)
#pragma unroll
                    for (int m = 0; m < MF; m++) mmaChunk(acc + at(a, m, j), A[a][m], B[a][m], h, l);
            }
            slot = slot + 1 == STAGES ? 0 : slot + 1;
        }
        if (!CLASSES) foldClass<NACC>(tot, acc, cls);
    }
    cpAsyncWaitN<0>();
    if constexpr (CLASSES == 2) {
        // the tile's 8 class blocks are one cluster (grid z = 8): each parks its class's sums [token][row] in shared
        // memory after the ring, then folds 1/8 of the tile's outputs, reading the 8 blocks' sums in class order
        // through distributed shared memory (foldClass's order: the same bits), and applies the mode
        static_assert(MODE != 2, "dense store / residual only");
        namespace cg = cooperative_groups;
        cg::cluster_group cluster = cg::this_cluster();
        float* sums = reinterpret_cast<float*>(tgSmem + STAGES * STAGE_BYTES);
        forEachLaneOutput<MF>(wr * WROWS, wt * 32, g, tq, [&](int m, int j, int i, int n, int t) {
            sums[t * BR + n] = acc[at(0, m, j) + i];
        });
        cluster.sync();
        const float* part[GEMM_WARPS];
#pragma unroll
        for (int c = 0; c < GEMM_WARPS; c++) part[c] = cluster.map_shared_rank(sums, c);
        for (int o = (int)cluster.block_rank() * THREADS + tid; o < BR * BT; o += GEMM_WARPS * THREADS) {
            int t = o / BR, n = r0 + o % BR;
            float v = part[0][o];
#pragma unroll
            for (int c = 1; c < GEMM_WARPS; c++) v = v + part[c][o];
            if (n < N && t < count) {
                float* y = Y + (size_t)(start + t) * ldy + n;
                *y = MODE == 1 ? *y + v : v;
            }
        }
        cluster.sync(); // no block leaves while another still reads its sums
    } else if constexpr (CLASSES == 1) {
        static_assert(MODE == 0, "class sums are stored as they are; gemm_fold_classes applies the mode");
        // this class's sums, unfolded, at Y[cls][row][n] (rows numRows apart per class)
        forEachLaneOutput<MF>(r0 + wr * WROWS, wt * 32, g, tq, [&](int m, int j, int i, int n, int t) {
            if (n < N && t < count) Y[((size_t)cls0 * numRows + start + t) * ldy + n] = acc[at(0, m, j) + i];
        });
    } else {
        // gemmBody's epilogue (reduceAndStore)
        forEachLaneOutput<MF>(r0 + wr * WROWS, wt * 32, g, tq, [&](int m, int j, int i, int n, int t) {
            if (n < N && t < count) {
                float* yrow = Y + (size_t)(start + t) * ldy;
                float v = tot[at(0, m, j) + i];
                if (MODE == 0) yrow[n] = v;
                else if (MODE == 1) yrow[n] = yrow[n] + v;
                else storeSplit(yrow, n, (v / (1.0f + expf(-v))) * tot[at(NMAT - 1, m, j) + i]); // the down input
            }
        });
    }
}

// "_t<MF>x<NWR>x<NWT>": blocks of 16·MF·NWR weight rows (per matrix) × 32·NWT tokens, NWR·NWT warps; grid (token
// tiles or the tile list, row blocks); dynamic shared memory STAGES × (NMAT · 16·MF·NWR × 64 + 32·NWT × 128) bytes
// (TiledGemm.sharedBytes).
#define TG_VARIANT(name, mode, mf, nwr, nwt, stages, minBlocks, args, pass)                                     \
    extern "C" __global__ void __launch_bounds__(32 * nwr * nwt, minBlocks) name(args) {                       \
        tiledGemmBody<mode, mf, nwr, nwt, stages>(pass);                                                       \
    }
// 128 weight rows × 32 tokens, four warps, 4 stages (48 KB): the best of the shapes gemm_bench.cu measured for
// lm_head at 64-256 rows and QKV / O at >= 256 (docs/cuda-notes.md v32)
TG_VARIANT(gemm_store_t2x4x1, 0, 2, 4, 1, 4, 3, GEMM_ARGS, GEMM_PASS)
TG_VARIANT(gemm_residual_t2x4x1, 1, 2, 4, 1, 4, 3, GEMM_ARGS, GEMM_PASS)
// the expert gate/up pair over 32-pair tiles: 64 rows of each matrix per block (v33)
TG_VARIANT(gemm_swiglu_t1x4x1, 2, 1, 4, 1, 4, 3, SWIGLU_ARGS, SWIGLU_PASS)

// Class-split dense products (rows from -Droutingreplay.cuda.classSplitDense up to the tiled kernels'): where the
// tiled kernels have too few output tiles to fill the GPU (QKV / O at 32-255 rows), grid z splits the walk by class:
// block (x, y, c) sums class c of its tile alone and stores the sums at Y[c][row][n] (rows numRows apart per class,
// row stride ldy); gemm_fold_classes then adds the eight class sums in class order — tiledGemmBody's foldClass
// (tot = class 0, tot += each later class), so the same bits — and stores or adds the result. Dense rows only.
#define TG_CLASSES_VARIANT(name, mf, nwr, nwt, stages, minBlocks)                                             \
    extern "C" __global__ void __launch_bounds__(32 * nwr * nwt, minBlocks) name(GEMM_ARGS) {                  \
        tiledGemmBody<0, mf, nwr, nwt, stages, 1>(GEMM_PASS);                                               \
    }
// 128 weight rows x 128 tokens, 8 warps of 64 x 32, 3 stages (72 KB): from 33 rows
TG_CLASSES_VARIANT(gemm_classes_t4x2x4, 4, 2, 4, 3, 1)
// 128 weight rows x 32 tokens, 4 warps, 4 stages (48 KB): up to 32 rows, a quarter of the wider tile's mma work
TG_CLASSES_VARIANT(gemm_classes_t2x4x1, 2, 4, 1, 4, 3)

// The same split folded inside one launch (tiledGemmBody CLASSES 2, -Droutingreplay.cuda.classSplitFold=cluster): a
// tile's 8 class blocks are one thread-block cluster (grid z = 8) and fold through distributed shared memory — no
// workspace, no second launch. Dynamic shared memory: the ring plus the tile's sums (16·MF·NWR × 32·NWT floats).
#define TG_CLUSTER_VARIANT(name, mode, mf, nwr, nwt, stages)                                                    \
    extern "C" __global__ void __cluster_dims__(1, 1, 8) __launch_bounds__(32 * nwr * nwt, 1) name(GEMM_ARGS) { \
        tiledGemmBody<mode, mf, nwr, nwt, stages, 2>(GEMM_PASS);                                               \
    }
TG_CLUSTER_VARIANT(gemm_classes_cluster_store_t4x2x4, 0, 4, 2, 4, 3)
TG_CLUSTER_VARIANT(gemm_classes_cluster_residual_t4x2x4, 1, 4, 2, 4, 3)
TG_CLUSTER_VARIANT(gemm_classes_cluster_store_t2x4x1, 0, 2, 4, 1, 4)
TG_CLUSTER_VARIANT(gemm_classes_cluster_residual_t2x4x1, 1, 2, 4, 1, 4)

// Y[row][n] (= or +=, RESIDUAL) the class sums P[0][row][n] + P[1][row][n] + ... + P[7][row][n], added in class
// order; one thread per output, rows x n outputs, P's classes rows x ldp apart.
template <bool RESIDUAL>
__device__ __forceinline__ void foldClasses(const float* P, int ldp, int rows, int n, float* Y, int ldy) {
    long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= (long long)rows * n) return;
    int row = (int)(o / n), col = (int)(o % n);
    const float* p = P + (size_t)row * ldp + col;
    size_t classStride = (size_t)rows * ldp;
    float v = p[0];
#pragma unroll
    for (int c = 1; c < GEMM_WARPS; c++) v = v + p[c * classStride];
    float* y = Y + (size_t)row * ldy + col;
    *y = RESIDUAL ? *y + v : v;
}
extern "C" __global__ void gemm_fold_classes_store(const float* P, int ldp, int rows, int n, float* Y, int ldy) {
    foldClasses<false>(P, ldp, rows, n, Y, ldy);
}
extern "C" __global__ void gemm_fold_classes_residual(const float* P, int ldp, int rows, int n, float* Y, int ldy) {
    foldClasses<true>(P, ldp, rows, n, Y, ldy);
}
