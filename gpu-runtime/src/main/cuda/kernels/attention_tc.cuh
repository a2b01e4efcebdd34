// Tensor-core paged attention for bf16 and fp8 K/V (decode and prefill), writing attention.cuh's partials.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once
#include "attention.cuh"
#include "cp_async.cuh"

// ---------------------------------------------------------------------------------------------------------------
// The fp32 K/V mode keeps attention.cuh / attention_staged.cuh bit for bit (its CPU-agreement rule, v27); the bf16
// and fp8 modes only need batch invariance, so they run this: the same partitions of ATT_CHUNK positions, block z
// walking partitions z, z + ATT_SPLITS, ... and the same partial record [T][heads][ATT_SPLITS][D + 2] = (acc, max,
// sum), merged unchanged by attention_combine; but S = scale · Q Kᵀ and P·V on mma.sync m16n8k16 (bf16 in, fp32
// accumulate), Q and P split into bf16 hi + lo (~16 mantissa bits), K and V exactly as stored (fp8 e4m3 widened to
// bf16 when a fragment is read: exact).
//
// A row tile is 16 mma rows = (token, query head) pairs of ONE sequence and one K/V head: tokPerTile consecutive
// tokens × the G query heads (decode launches tokPerTile 1: one token, G rows; prefill 16 / G tokens). A block is NT
// row tiles × TCATT_SLICES warps: warp (tile, slice) owns positions [32 slice, 32 slice + 32) of every partition for
// its tile; the partition's K and V ([128 positions][D], 16-byte padded rows) are cp.async-staged once per block and
// shared by all NT tiles (prefill: K/V read once per NT · tokPerTile tokens, not once per token).
//
// Why a row's bits depend only on (its q, its position, the cache) — never on its tile, block, NT, tokPerTile or the
// step's other tokens: mma rows are independent; the partition walk, the n-tile and k order of each product, the
// softmax (a position after the row's own is -inf: p = 0 exactly, as if absent; the block walking a partition that
// holds nothing for the row leaves it untouched: max unchanged → correction exactly 1, products exactly 0), the
// per-slice row sums (thread's 8 values in order, then the quad's fixed shuffle tree), the per-slice accumulators
// and their final sum in slice order ((s0 + s1) + s2) + s3 are the same in every launch. The one quantity shared
// across slices, a partition's row max, is a max (exact in any order).
// Blocks derive their tiles on the device: block y takes tokens [y · NT · tokPerTile, ...), cut at sequence changes
// (a step's tokens of one sequence are contiguous), each run processed in turn — so the launch shape is a function
// of T only (CUDA-graph decode replays keep working).
// ---------------------------------------------------------------------------------------------------------------
#define TCATT_SLICES 4 // warps per row tile, each 32 positions of a partition
#define TCATT_ROWS 16  // mma rows per tile

// shared memory of a block: K and V stages ([ATT_CHUNK][D + 16 bytes]), aliased after the walk by the slice sums
// ([NT][16][D + 2] floats), then the q tiles ([NT][hi, lo][16][D + 8] bf16)
// ONEBUF (a variant bench/cuda/attention_tc_bench.cu times): V loaded into K's stage once the scores are taken — half
// the shared memory (more blocks per multiprocessor), V's load no longer overlapping the score products
__host__ __device__ constexpr int tcAttKvBytes(int D, int eb, bool onebuf = false) {
    return (onebuf ? 1 : 2) * ATT_CHUNK * (D * eb + 16);
}
__host__ __device__ constexpr int tcAttSumBytes(int D, int nt) { return nt * TCATT_ROWS * (D + 2) * 4; }
__host__ __device__ constexpr int tcAttQOffset(int D, int eb, int nt, bool onebuf = false) {
    return ((tcAttKvBytes(D, eb, onebuf) > tcAttSumBytes(D, nt) ? tcAttKvBytes(D, eb, onebuf) : tcAttSumBytes(D, nt))
            + 15) / 16 * 16;
}
__host__ __device__ constexpr int tcAttSharedBytes(int D, int eb, int nt, bool onebuf = false) {
    return tcAttQOffset(D, eb, nt, onebuf) + nt * 2 * TCATT_ROWS * (D + 8) * 2;
}

__device__ __forceinline__ uint32_t tcBits(bf16 v) { return *reinterpret_cast<const unsigned short*>(&v); }
__device__ __forceinline__ uint32_t tcBits(fp8 v) { return __float_as_uint(fp8ToFloat(v)) >> 16; } // exact in bf16
// two consecutive stored elements as a bf16x2 fragment register (lower index in the low half)
__device__ __forceinline__ uint32_t tcPair(const bf16* p) { return *reinterpret_cast<const uint32_t*>(p); }
__device__ __forceinline__ uint32_t tcPair(const fp8* p) {
    unsigned short u = *reinterpret_cast<const unsigned short*>(p);
    return tcBits((fp8)(u & 0xff)) | tcBits((fp8)(u >> 8)) << 16;
}
template <typename KVT>
__device__ __forceinline__ uint32_t tcPair(const KVT* a, const KVT* b) { return tcBits(*a) | tcBits(*b) << 16; }

__device__ __forceinline__ void tcMma(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
// ldmatrix .x4 (.trans): four 8 × 8 bf16 matrices, lane i giving row i % 8 of matrix i / 8 — register j of every
// lane is matrix j's mma fragment (the same elements the scalar reads below gather, in fewer instructions)
__device__ __forceinline__ void tcLdm4(uint32_t* r, const void* p) {
    unsigned a = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a) : "memory");
}
__device__ __forceinline__ void tcLdm4T(uint32_t* r, const void* p) {
    unsigned a = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a) : "memory");
}
// x as bf16 hi (returned in *hi's pair slot) and lo = bf16(x - hi), for a pair (x0, x1)
__device__ __forceinline__ void tcSplit(float x0, float x1, uint32_t* hi, uint32_t* lo) {
    __nv_bfloat162 h = __floats2bfloat162_rn(x0, x1);
    float2 hf = __bfloat1622float2(h);
    *hi = *reinterpret_cast<uint32_t*>(&h);
    *lo = packBf16(x0 - hf.x, x1 - hf.y);
}

// LDM: fragments through ldmatrix (q always, K/V when bf16); false: scalar shared-memory reads (the bench's A/B)
template <int D, typename KVT, int NT, bool ONEBUF = false, bool LDM = true>
__device__ __forceinline__ void tcAttentionBody(const float* q, const KVT* kCache, const KVT* vCache,
                                                const int* tokSeq, const int* positions, const int* blockTables,
                                                const int* meta, int blockSize, int nH, int nKV, float scale,
                                                float* part, int T, int tokPerTile) {
    constexpr int EB = (int)sizeof(KVT);
    constexpr int KS = D + 16 / EB;  // staged row stride in elements (16-byte pad: conflict-free fragment reads)
    constexpr int PE = 16 / EB;      // elements of a 16-byte piece
    constexpr int DPC = D / PE;      // pieces of a row
    constexpr int QS = D + 8;        // q tile row stride (bf16)
    constexpr int NTH = NT * TCATT_SLICES * 32;
    constexpr int ND = D / 8;        // n-tiles of the output (8 dimensions each)
    static_assert(D % 16 == 0 && ATT_CHUNK == TCATT_SLICES * 32, "tensor-core attention: D multiple of 16");
    // dynamic shared memory under gemm_staged.cuh's name: one module-level declaration for both, so adding these
    // entries leaves the PTX before them unchanged (scripts/ptx-same.sh --entries)
    extern __shared__ __align__(16) unsigned char skSmem[];
    unsigned char* tcSmem = skSmem;
    KVT* kS = reinterpret_cast<KVT*>(tcSmem);
    KVT* vS = ONEBUF ? kS : kS + ATT_CHUNK * KS;
    float* sumS = reinterpret_cast<float*>(tcSmem); // [NT][16][D + 2], after the walk
    bf16* qS = reinterpret_cast<bf16*>(tcSmem + tcAttQOffset(D, EB, NT, ONEBUF)); // [NT][2][16][QS]
    __shared__ float redMax[NT][TCATT_SLICES][TCATT_ROWS];
    __shared__ int slotS[ATT_CHUNK];
    __shared__ int rowTok[NT][TCATT_ROWS], rowPos[NT][TCATT_ROWS];

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int tile = warp / TCATT_SLICES, slice = warp % TCATT_SLICES;
    const int gr = lane >> 2, qd = lane & 3; // fragment row group, column pair
    const int lmat = lane >> 3, lrow = lane & 7; // the ldmatrix row this lane addresses: matrix, row
    const int kvh = blockIdx.x, z = blockIdx.z, G = nH / nKV;
    const int tb = blockIdx.y * NT * tokPerTile, te = min(T, tb + NT * tokPerTile);
    const float* qBase = q + (size_t)kvh * G * D;
    const bf16* qHi = qS + (size_t)tile * 2 * TCATT_ROWS * QS;
    const bf16* qLo = qHi + TCATT_ROWS * QS;

    for (int s0 = tb; s0 < te;) {
        const int seq = tokSeq[s0];
        int s1 = s0 + 1, maxCtx = positions[s0] + 1;
        while (s1 < te && tokSeq[s1] == seq) maxCtx = max(maxCtx, positions[s1++] + 1);
        if (z * ATT_CHUNK >= maxCtx) { s0 = s1; continue; }
        const int* bt = blockTables + (size_t)seq * meta[0];
        __syncthreads(); // the previous run is done with the shared memory
        if (tid < NT * TCATT_ROWS) {
            int ti = tid / TCATT_ROWS, r = tid % TCATT_ROWS, tok = s0 + ti * tokPerTile + r / G;
            bool used = r < tokPerTile * G && tok < s1;
            rowTok[ti][r] = used ? tok : -1;
            rowPos[ti][r] = used ? positions[tok] : -1; // -1: every position masked
        }
        __syncthreads();
        for (int i = tid; i < NT * TCATT_ROWS * D; i += NTH) {
            int ti = i / (TCATT_ROWS * D), r = (i / D) % TCATT_ROWS, d = i % D, tok = rowTok[ti][r];
            float x = tok >= 0 ? qBase[(size_t)tok * nH * D + (r % G) * D + d] : 0.f;
            bf16 h = __float2bfloat16_rn(x);
            bf16* dst = qS + ((size_t)ti * 2 * TCATT_ROWS + r) * QS + d;
            dst[0] = h;
            dst[TCATT_ROWS * QS] = __float2bfloat16_rn(x - __bfloat162float(h));
        }
        const int posA = rowPos[tile][gr], posB = rowPos[tile][gr + 8]; // rows gr and gr + 8 of the tile
        float o[ND][4];
#pragma unroll
        for (int i = 0; i < ND; i++) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
        float mA = -INFINITY, mB = -INFINITY, lA = 0.f, lB = 0.f;
        for (int c0 = z * ATT_CHUNK; c0 < maxCtx; c0 += ATT_SPLITS * ATT_CHUNK) {
            const int n = min(ATT_CHUNK, maxCtx - c0);
            if (tid < ATT_CHUNK) {
                int p = c0 + min(tid, n - 1);
                slotS[tid] = bt[p / blockSize] * blockSize + (p % blockSize);
            }
            __syncthreads();
            for (int i = tid; i < ATT_CHUNK * DPC; i += NTH) {
                int j = i / DPC, c = i % DPC;
                cpAsync16(kS + j * KS + c * PE, kCache + ((size_t)slotS[j] * nKV + kvh) * D + c * PE, j < n);
            }
            cpAsyncCommit();
            auto issueV = [&] {
                for (int i = tid; i < ATT_CHUNK * DPC; i += NTH) {
                    int j = i / DPC, c = i % DPC;
                    cpAsync16(vS + j * KS + c * PE, vCache + ((size_t)slotS[j] * nKV + kvh) * D + c * PE, j < n);
                }
                cpAsyncCommit();
            };
            if (!ONEBUF) issueV();
            if (ONEBUF) cpAsyncWaitN<0>();
            else cpAsyncWaitN<1>(); // K here, V still arriving
            __syncthreads();
            // S = Q Kᵀ over this warp's 32 positions: 4 n-tiles; each accumulates k-steps in order, hi then lo
            float s[4][4];
#pragma unroll
            for (int nt = 0; nt < 4; nt++) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
            const KVT* kW = kS + (slice * 32 + gr) * KS + 2 * qd;
#pragma unroll
            for (int ks = 0; ks < D / 16; ks++) {
                uint32_t ah[4], al[4];
                if (LDM) { // matrices: rows 0-7 / 8-15 × columns ks·16 + 0-7 / 8-15
                    const int off = (lrow + (lmat & 1) * 8) * QS + ks * 16 + (lmat >> 1) * 8;
                    tcLdm4(ah, qHi + off);
                    tcLdm4(al, qLo + off);
                } else {
                    const int c = ks * 16 + 2 * qd;
                    ah[0] = *reinterpret_cast<const uint32_t*>(qHi + gr * QS + c);
                    ah[1] = *reinterpret_cast<const uint32_t*>(qHi + (gr + 8) * QS + c);
                    ah[2] = *reinterpret_cast<const uint32_t*>(qHi + gr * QS + c + 8);
                    ah[3] = *reinterpret_cast<const uint32_t*>(qHi + (gr + 8) * QS + c + 8);
                    al[0] = *reinterpret_cast<const uint32_t*>(qLo + gr * QS + c);
                    al[1] = *reinterpret_cast<const uint32_t*>(qLo + (gr + 8) * QS + c);
                    al[2] = *reinterpret_cast<const uint32_t*>(qLo + gr * QS + c + 8);
                    al[3] = *reinterpret_cast<const uint32_t*>(qLo + (gr + 8) * QS + c + 8);
                }
#pragma unroll
                for (int nt = 0; nt < 4; nt += 2) {
                    uint32_t b[4]; // n-tiles nt, nt + 1: (b0, b1) each
                    if (LDM && EB == 2) { // matrices: positions of n-tile nt / nt + 1 × d ks·16 + 0-7 / 8-15
                        tcLdm4(b, kS + (slice * 32 + (nt + (lmat >> 1)) * 8 + lrow) * KS + ks * 16 + (lmat & 1) * 8);
                    } else {
                        b[0] = tcPair(kW + nt * 8 * KS + ks * 16);
                        b[1] = tcPair(kW + nt * 8 * KS + ks * 16 + 8);
                        b[2] = tcPair(kW + (nt + 1) * 8 * KS + ks * 16);
                        b[3] = tcPair(kW + (nt + 1) * 8 * KS + ks * 16 + 8);
                    }
                    tcMma(s[nt], ah, b[0], b[1]);
                    tcMma(s[nt], al, b[0], b[1]);
                    tcMma(s[nt + 1], ah, b[2], b[3]);
                    tcMma(s[nt + 1], al, b[2], b[3]);
                }
            }
            // scale and mask (positions after the row's own: -inf), the row max of the slice, of the partition
            float xA = -INFINITY, xB = -INFINITY;
#pragma unroll
            for (int nt = 0; nt < 4; nt++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    int p = c0 + slice * 32 + nt * 8 + 2 * qd + e;
                    s[nt][e] = p <= posA ? __fmul_rn(s[nt][e], scale) : -INFINITY; // _rn: never fused
                    s[nt][2 + e] = p <= posB ? __fmul_rn(s[nt][2 + e], scale) : -INFINITY;
                    xA = fmaxf(xA, s[nt][e]);
                    xB = fmaxf(xB, s[nt][2 + e]);
                }
            }
            xA = fmaxf(xA, __shfl_xor_sync(0xffffffffu, xA, 1));
            xA = fmaxf(xA, __shfl_xor_sync(0xffffffffu, xA, 2));
            xB = fmaxf(xB, __shfl_xor_sync(0xffffffffu, xB, 1));
            xB = fmaxf(xB, __shfl_xor_sync(0xffffffffu, xB, 2));
            if (qd == 0) {
                redMax[tile][slice][gr] = xA;
                redMax[tile][slice][gr + 8] = xB;
            }
            __syncthreads(); // (every warp's scores taken: ONEBUF's stage is free for V)
            if (ONEBUF) issueV();
            float nA = mA, nB = mB;
#pragma unroll
            for (int sl = 0; sl < TCATT_SLICES; sl++) {
                nA = fmaxf(nA, redMax[tile][sl][gr]);
                nB = fmaxf(nB, redMax[tile][sl][gr + 8]);
            }
            // unchanged max (nothing of the row here, or nothing larger): correction exactly 1
            const float cA = nA == mA ? 1.f : __expf(__fsub_rn(mA, nA)), cB = nB == mB ? 1.f : __expf(__fsub_rn(mB, nB));
            const float uA = nA == -INFINITY ? 0.f : nA, uB = nB == -INFINITY ? 0.f : nB;
            mA = nA;
            mB = nB;
            float rA = 0.f, rB = 0.f;
#pragma unroll
            for (int nt = 0; nt < 4; nt++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    s[nt][e] = __expf(__fsub_rn(s[nt][e], uA)); // -inf: 0
                    s[nt][2 + e] = __expf(__fsub_rn(s[nt][2 + e], uB));
                    rA += s[nt][e];
                    rB += s[nt][2 + e];
                }
            }
            rA += __shfl_xor_sync(0xffffffffu, rA, 1);
            rA += __shfl_xor_sync(0xffffffffu, rA, 2);
            rB += __shfl_xor_sync(0xffffffffu, rB, 1);
            rB += __shfl_xor_sync(0xffffffffu, rB, 2);
            lA = fmaf(lA, cA, rA); // explicit: the same instruction in every entry
            lB = fmaf(lB, cB, rB);
#pragma unroll
            for (int i = 0; i < ND; i++) {
                o[i][0] *= cA;
                o[i][1] *= cA;
                o[i][2] *= cB;
                o[i][3] *= cB;
            }
            cpAsyncWaitN<0>();
            __syncthreads();
            // O += P V: the S accumulators of n-tiles 2kk, 2kk + 1 are the A fragment of k-step kk (hi, then lo)
#pragma unroll
            for (int kk = 0; kk < 2; kk++) {
                uint32_t ph[4], pl[4];
                tcSplit(s[2 * kk][0], s[2 * kk][1], &ph[0], &pl[0]);
                tcSplit(s[2 * kk][2], s[2 * kk][3], &ph[1], &pl[1]);
                tcSplit(s[2 * kk + 1][0], s[2 * kk + 1][1], &ph[2], &pl[2]);
                tcSplit(s[2 * kk + 1][2], s[2 * kk + 1][3], &ph[3], &pl[3]);
                const KVT* vW = vS + (slice * 32 + kk * 16 + 2 * qd) * KS + gr;
#pragma unroll
                for (int i = 0; i < ND; i += 2) {
                    uint32_t b[4]; // output n-tiles i, i + 1: (b0, b1) each
                    if (LDM && EB == 2) { // transposed matrices: positions 0-7 / 8-15 of the k-step × d of tile i / i + 1
                        tcLdm4T(b, vS + (slice * 32 + kk * 16 + (lmat & 1) * 8 + lrow) * KS + (i + (lmat >> 1)) * 8);
                    } else {
                        b[0] = tcPair(vW + i * 8, vW + KS + i * 8);
                        b[1] = tcPair(vW + 8 * KS + i * 8, vW + 9 * KS + i * 8);
                        b[2] = tcPair(vW + (i + 1) * 8, vW + KS + (i + 1) * 8);
                        b[3] = tcPair(vW + 8 * KS + (i + 1) * 8, vW + 9 * KS + (i + 1) * 8);
                    }
                    tcMma(o[i], ph, b[0], b[1]);
                    tcMma(o[i], pl, b[0], b[1]);
                    tcMma(o[i + 1], ph, b[2], b[3]);
                    tcMma(o[i + 1], pl, b[2], b[3]);
                }
            }
            __syncthreads(); // the stages and slots are free for the next partition
        }
        // the slices' accumulators and sums added in slice order, then the records of the run's rows
#pragma unroll 1
        for (int sl = 0; sl < TCATT_SLICES; sl++) {
            if (slice == sl) {
                float* rowA = sumS + ((size_t)tile * TCATT_ROWS + gr) * (D + 2);
                float* rowB = rowA + 8 * (D + 2);
#pragma unroll
                for (int i = 0; i < ND; i++) {
#pragma unroll
                    for (int e = 0; e < 2; e++) {
                        int d = i * 8 + 2 * qd + e;
                        rowA[d] = sl == 0 ? o[i][e] : rowA[d] + o[i][e];
                        rowB[d] = sl == 0 ? o[i][2 + e] : rowB[d] + o[i][2 + e];
                    }
                }
                if (qd == 0) {
                    rowA[D] = mA;
                    rowB[D] = mB;
                    rowA[D + 1] = sl == 0 ? lA : rowA[D + 1] + lA;
                    rowB[D + 1] = sl == 0 ? lB : rowB[D + 1] + lB;
                }
            }
            __syncthreads();
        }
        for (int i = tid; i < NT * TCATT_ROWS * (D + 2); i += NTH) {
            int ti = i / (TCATT_ROWS * (D + 2)), r = (i / (D + 2)) % TCATT_ROWS, d = i % (D + 2), tok = rowTok[ti][r];
            if (tok >= 0)
                part[(((size_t)tok * nH + kvh * G + r % G) * ATT_SPLITS + z) * (D + 2) + d] = sumS[i];
        }
        s0 = s1;
    }
}

#define TCATT_ARGS_T(KVT) const float* q, const KVT* kCache, const KVT* vCache, const int* tokSeq, \
    const int* positions, const int* blockTables, const int* meta, int blockSize, int nH, int nKV, int D, float scale, \
    float* part, int T, int tokPerTile
#define TCATT_PASS q, kCache, vCache, tokSeq, positions, blockTables, meta, blockSize, nH, nKV, scale, part, T, tokPerTile
// NT row tiles per block: 1 for decode (grid (nKV, T, ATT_SPLITS), tokPerTile 1), 4 for prefill (grid (nKV,
// ceil(T / (4 · tokPerTile)), ATT_SPLITS), tokPerTile 16 / G); dynamic shared memory tcAttSharedBytes(D, eb, NT)
#define TCATT_KERNEL(NAME, DD, KVT, NT) extern "C" __global__ void __launch_bounds__(NT * TCATT_SLICES * 32) \
    NAME(TCATT_ARGS_T(KVT)) { tcAttentionBody<DD, KVT, NT>(TCATT_PASS); }
TCATT_KERNEL(attention_tc_d16_bf16, 16, bf16, 1)
TCATT_KERNEL(attention_tc_d32_bf16, 32, bf16, 1)
TCATT_KERNEL(attention_tc_d64_bf16, 64, bf16, 1)
TCATT_KERNEL(attention_tc_d128_bf16, 128, bf16, 1)
TCATT_KERNEL(attention_tc_d16_fp8, 16, fp8, 1)
TCATT_KERNEL(attention_tc_d32_fp8, 32, fp8, 1)
TCATT_KERNEL(attention_tc_d64_fp8, 64, fp8, 1)
TCATT_KERNEL(attention_tc_d128_fp8, 128, fp8, 1)
// 2 row tiles: timed by bench/cuda/attention_tc_bench.cu against 4
TCATT_KERNEL(attention_tc_d64_bf16_x2, 64, bf16, 2)
TCATT_KERNEL(attention_tc_d128_bf16_x2, 128, bf16, 2)
TCATT_KERNEL(attention_tc_d64_fp8_x2, 64, fp8, 2)
TCATT_KERNEL(attention_tc_d128_fp8_x2, 128, fp8, 2)
TCATT_KERNEL(attention_tc_d16_bf16_x4, 16, bf16, 4)
TCATT_KERNEL(attention_tc_d32_bf16_x4, 32, bf16, 4)
TCATT_KERNEL(attention_tc_d64_bf16_x4, 64, bf16, 4)
TCATT_KERNEL(attention_tc_d128_bf16_x4, 128, bf16, 4)
TCATT_KERNEL(attention_tc_d16_fp8_x4, 16, fp8, 4)
TCATT_KERNEL(attention_tc_d32_fp8_x4, 32, fp8, 4)
TCATT_KERNEL(attention_tc_d64_fp8_x4, 64, fp8, 4)
TCATT_KERNEL(attention_tc_d128_fp8_x4, 128, fp8, 4)
