// Micro-benchmark of the small per-layer kernels (embed, rmsnorm, qk_norm_rope_kv, attention_combine,
// group_by_expert, moe_combine; moe_combine_rmsnorm and router_topk_norm against the two kernels each replaces;
// router_topk_norm_parts_group against rmsnorm + router_topk + group_by_expert at 1, 10, 16, 32 tokens; the tiled
// router_topk_norm_tiles{,_group} against the same at 33-1,024 tokens) at the Qwen3-30B-A3B decode shapes: each backend kernel is checked bit for bit
// against a verbatim copy of the kernel it replaced (x_*_ref below, as on main at fcca0b8), then both are timed.
// On the GPU machine (nvcc there), from the repository root:
//   nvcc -O3 -std=c++17 -arch=sm_90 -o /tmp/small_bench bench/cuda/small_bench.cu && /tmp/small_bench 256
// Prints, per kernel: identical or DIFFERENT, µs per launch (back to back) of the reference and of the backend kernel.
// Exits 1 if any output differs.
#include "../../gpu-runtime/src/main/cuda/kernels.cu"
#include "bench_util.cuh"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>


// ---- the original kernels (verbatim but for the x_..._ref names) ----
extern "C" __global__ void x_embed_ref(const int* tokens, const bf16* emb, float* x, int H) {
    int t = blockIdx.x;
    const bf16* row = emb + (size_t)tokens[t] * H;
    for (int i = threadIdx.x; i < H; i += blockDim.x) x[(size_t)t * H + i] = __bfloat162float(row[i]);
}

extern "C" __global__ void x_rmsnorm_ref(const float* x, const int* rowIdx, const bf16* w, float* out, int H, float eps) {
    __shared__ float scratch[32];
    int r = blockIdx.x;
    int src = rowIdx ? rowIdx[r] : r;
    const float* xr = x + (size_t)src * H;
    float ss = 0.f;
    for (int i = threadIdx.x; i < H; i += blockDim.x) ss += xr[i] * xr[i];
    ss = blockSum(ss, scratch);
    float inv = 1.0f / sqrtf(ss / (float)H + eps);
    for (int i = threadIdx.x; i < H; i += blockDim.x)
        out[(size_t)r * H + i] = __bfloat162float(w[i]) * (xr[i] * inv);
}

__device__ void x_normSpan_ref(float* v, int n, int groups, const bf16* w, int perGroupWeight, float eps, float* scratch) {
    // groups contiguous spans of n elements each; one warp per span (perGroupWeight: weight indexed within span)
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int g = warp; g < groups; g += nw) {
        float* s = v + g * n;
        float ss = 0.f;
        for (int i = lane; i < n; i += 32) ss += s[i] * s[i];
        ss = warpSum(ss);
        float inv = 1.0f / sqrtf(ss / (float)n + eps);
        for (int i = lane; i < n; i += 32) s[i] = __bfloat162float(w[perGroupWeight ? i : g * n + i]) * (s[i] * inv);
    }
}

template <typename KVT>
__device__ void x_qkNormRopeKv_ref(float* qkv, const int* positions, const int* slots, const bf16* qNorm,
                             const bf16* kNorm, int qkMode, float eps, const float* invFreq,
                             float* qOut, KVT* kCache, KVT* vCache, int nH, int nKV, int D) {
    __shared__ float scratch[32];
    int t = blockIdx.x;
    int qDim = nH * D, kvDim = nKV * D;
    float* row = qkv + (size_t)t * (qDim + 2 * kvDim);
    float* q = row;
    float* k = row + qDim;
    float* v = row + qDim + kvDim;
    if (qkMode == 1) {
        x_normSpan_ref(q, D, nH, qNorm, 1, eps, scratch);
        x_normSpan_ref(k, D, nKV, kNorm, 1, eps, scratch);
    } else if (qkMode == 2) {
        float ss = 0.f;
        for (int i = threadIdx.x; i < qDim; i += blockDim.x) ss += q[i] * q[i];
        ss = blockSum(ss, scratch);
        float inv = 1.0f / sqrtf(ss / (float)qDim + eps);
        float ssk = 0.f;
        for (int i = threadIdx.x; i < kvDim; i += blockDim.x) ssk += k[i] * k[i];
        ssk = blockSum(ssk, scratch);
        float invk = 1.0f / sqrtf(ssk / (float)kvDim + eps);
        __syncthreads();
        for (int i = threadIdx.x; i < qDim; i += blockDim.x) q[i] = __bfloat162float(qNorm[i]) * (q[i] * inv);
        for (int i = threadIdx.x; i < kvDim; i += blockDim.x) k[i] = __bfloat162float(kNorm[i]) * (k[i] * invk);
    }
    __syncthreads();
    float pos = (float)positions[t];
    int half = D / 2;
    size_t slot = (size_t)slots[t];
    for (int idx = threadIdx.x; idx < (nH + nKV) * half; idx += blockDim.x) {
        int h = idx / half, i = idx % half;
        float ang = pos * invFreq[i];
        float c = cosf(ang), s = sinf(ang);
        if (h < nH) {
            float a = q[h * D + i], b = q[h * D + i + half];
            float* o = qOut + (size_t)t * qDim + h * D;
            o[i] = __fadd_rn(__fmul_rn(a, c), __fmul_rn(-b, s));
            o[i + half] = __fadd_rn(__fmul_rn(b, c), __fmul_rn(a, s));
        } else {
            int kh = h - nH;
            float a = k[kh * D + i], b = k[kh * D + i + half];
            KVT* o = kCache + (slot * nKV + kh) * D;
            kvStore(o + i, __fadd_rn(__fmul_rn(a, c), __fmul_rn(-b, s)));
            kvStore(o + i + half, __fadd_rn(__fmul_rn(b, c), __fmul_rn(a, s)));
        }
    }
    for (int i = threadIdx.x; i < kvDim; i += blockDim.x) {
        int kh = i / D, d = i % D;
        kvStore(vCache + (slot * nKV + kh) * D + d, v[i]);
    }
}

extern "C" __global__ void x_group_by_expert_ref(const int* topIds, int numPairs, int K, int E, int tile, int* rankTmp,
                                           int* sortedTok, int* pairSlot, int* tiles, int* numTiles) {
    __shared__ int cnt[GROUP_MAXE];
    __shared__ int off[GROUP_MAXE];
    __shared__ int toff[GROUP_MAXE];
    for (int e = threadIdx.x; e < E; e += blockDim.x) cnt[e] = 0;
    __syncthreads();
    for (int p = threadIdx.x; p < numPairs; p += blockDim.x) rankTmp[p] = atomicAdd(&cnt[topIds[p]], 1);
    __syncthreads();
    if (threadIdx.x == 0) {
        int o = 0, to = 0;
        for (int e = 0; e < E; e++) {
            off[e] = o;
            toff[e] = to;
            o += cnt[e];
            to += (cnt[e] + tile - 1) / tile;
        }
        *numTiles = to;
    }
    __syncthreads();
    for (int e = threadIdx.x; e < E; e += blockDim.x) {
        int nt = (cnt[e] + tile - 1) / tile;
        for (int i = 0; i < nt; i++) {
            int* tl = tiles + 3 * (toff[e] + i);
            tl[0] = e;
            tl[1] = off[e] + i * tile;
            tl[2] = min(tile, cnt[e] - i * tile);
        }
    }
    for (int p = threadIdx.x; p < numPairs; p += blockDim.x) {
        int slot = off[topIds[p]] + rankTmp[p];
        sortedTok[slot] = p / K;
        pairSlot[p] = slot;
    }
}

extern "C" __global__ void x_moe_combine_ref(float* x, const float* ySorted, const int* pairSlot, const float* topW, int K,
                                       int H) {
    int t = blockIdx.x;
    for (int i = threadIdx.x; i < H; i += blockDim.x) {
        float s = 0.f;
        for (int k = 0; k < K; k++) s += topW[t * K + k] * ySorted[(size_t)pairSlot[t * K + k] * H + i];
        x[(size_t)t * H + i] += s;
    }
}
#define X_QK_ARGS float* qkv, const int* positions, const int* slots, const bf16* qNorm, const bf16* kNorm, \
    int qkMode, float eps, const float* invFreq, float* qOut
extern "C" __global__ void x_qk_norm_rope_kv_ref(X_QK_ARGS, float* kCache, float* vCache, int nH, int nKV, int D) {
    x_qkNormRopeKv_ref<float>(qkv, positions, slots, qNorm, kNorm, qkMode, eps, invFreq, qOut, kCache, vCache, nH, nKV, D);
}
extern "C" __global__ void x_qk_norm_rope_kv_bf16_ref(X_QK_ARGS, bf16* kCache, bf16* vCache, int nH, int nKV, int D) {
    x_qkNormRopeKv_ref<bf16>(qkv, positions, slots, qNorm, kNorm, qkMode, eps, invFreq, qOut, kCache, vCache, nH, nKV, D);
}

// ---- harness ----
template <typename T>
static bool sameBits(const T* a, const T* b, size_t n) {
    auto ha = toHost(a, n), hb = toHost(b, n);
    return memcmp(ha.data(), hb.data(), n * sizeof(T)) == 0;
}


static bool allSame = true;

template <typename R, typename N>
static void report(const char* what, bool same, R ref, N neu) {
    double tr = timeIt(ref, 21, 20), tn = timeIt(neu, 21, 20);
    allSame &= same;
    printf("%-34s %-10s ref %8.2f us   new %8.2f us   (%.2fx)\n", what, same ? "identical" : "DIFFERENT", tr, tn, tr / tn);
}


// ---- router_topk_norm_parts_group (issue 14, v42): the router over 4 blocks per token with the MoE grouping run by
// the step's last token to finish, against rmsnorm + router_topk (1,024 threads) + group_by_expert (1,024 threads).
// Bit for bit: the split rows, ids, weights and routing record. The grouping: the same tile lists (first and, with
// tile2, second: expert, first slot, count) and counts, per-expert slot ranges ascending by expert, every pair in
// its expert's range with sortedTok[slot] = its token, no slot twice, and per expert the same set of tokens as
// group_by_expert's (sorted; the order inside an expert is free: each row of an expert GEMM is computed on its
// own). Launched twice each time: the per-token and the step counters must be back at 0 after a launch. ----
// variant: 0 router_topk_norm_parts_group; 1 router_topk_norm_tiles_group (RTT_TOKENS tokens a block, issue 14,
// above 32 tokens); 2 router_topk_norm_tiles then group_by_expert (the engine's choice for steps too large to group
// in one block). normTopk 0: raw top-k weights. real < T: a padded decode graph's step (cuda-notes v50), rows from
// `real` on padding — both sides group their pairs under row 0's experts (the meta word's real-row count), and the
// grouping is checked against the ids with those rows' replaced by row 0's.
static void routerGroupCheck(int T, int E, int K, int H, float eps, int variant, int normTopk = 1, int real = 0) {
    const int numMoe = 48, moeSlot = 5, parts = 4, tile = 16, pairs = T * K, maxTiles = cdiv(pairs, tile) + E;
    float* x = dev(normal((size_t)T * H, 21 + T + E));
    bf16* nw = dev(bf16s(H, 22, 1.f, 0.2f));
    bf16* wr = dev(bf16s((size_t)E * H, 23 + E, 0.f, 0.05f));
    size_t recLen = (size_t)T * 2 * numMoe * K;
    float *xn, *splitR, *splitN, *wR, *wN, *logits;
    int *idR, *idN, *recR, *recN, *arrivals, *step;
    int *rankR, *sortedR, *slotR, *tilesR, *numR, *tiles2R, *num2R;
    int *rankN, *sortedN, *slotN, *tilesN, *numN, *tiles2N, *num2N;
    CK(cudaMalloc(&xn, (size_t)T * H * 4));
    for (float** p : {&splitR, &splitN}) CK(cudaMalloc(p, (size_t)T * H * 4));
    for (float** p : {&wR, &wN}) CK(cudaMalloc(p, (size_t)pairs * 4));
    for (int** p : {&idR, &idN, &rankR, &sortedR, &slotR, &rankN, &sortedN, &slotN}) CK(cudaMalloc(p, (size_t)pairs * 4));
    for (int** p : {&recR, &recN}) CK(cudaMalloc(p, recLen * 4));
    for (int** p : {&tilesR, &tiles2R, &tilesN, &tiles2N}) CK(cudaMalloc(p, (size_t)maxTiles * 12));
    for (int** p : {&numR, &num2R, &numN, &num2N, &step}) CK(cudaMalloc(p, 4));
    CK(cudaMalloc(&logits, (size_t)T * E * 4));
    CK(cudaMalloc(&arrivals, (size_t)T * 4));
    CK(cudaMemset(arrivals, 0, (size_t)T * 4));
    CK(cudaMemset(step, 0, 4));
    int* realRows = real > 0 && real < T ? dev(std::vector<int>{real}) : nullptr;
    for (int tile2 : {0, 24}) {
        auto ref = [&] {
            rmsnorm<<<T, 256>>>(x, nullptr, nw, xn, splitR, H, eps);
            router_topk<<<T, 1024>>>(xn, wr, E, H, K, normTopk, moeSlot, numMoe, idR, wR, recR);
            group_by_expert<<<1, 1024>>>(idR, pairs, K, E, tile, tile2, rankR, sortedR, slotR, tilesR, numR,
                                         tiles2R, num2R, realRows);
        };
        auto neu = [&] {
            if (variant == 0)
                router_topk_norm_parts_group<<<dim3(T, parts), 256>>>(x, nw, eps, splitN, wr, E, H, K, normTopk,
                                                                      moeSlot, numMoe, idN, wN, recN, logits,
                                                                      arrivals, step, tile, tile2, rankN, sortedN,
                                                                      slotN, tilesN, numN, tiles2N, num2N, realRows);
            else if (variant == 1)
                router_topk_norm_tiles_group<<<dim3(cdiv(T, RTT_TOKENS), parts), 256>>>(
                        x, nw, eps, splitN, wr, T, E, H, K, normTopk, moeSlot, numMoe, idN, wN, recN, logits, arrivals,
                        step, tile, tile2, rankN, sortedN, slotN, tilesN, numN, tiles2N, num2N, realRows);
            else {
                router_topk_norm_tiles<<<dim3(cdiv(T, RTT_TOKENS), parts), 256>>>(
                        x, nw, eps, splitN, wr, T, E, H, K, normTopk, moeSlot, numMoe, idN, wN, recN, logits, arrivals);
                group_by_expert<<<1, 1024>>>(idN, pairs, K, E, tile, tile2, rankN, sortedN, slotN, tilesN, numN,
                                             tiles2N, num2N, realRows);
            }
        };
        for (int* p : {tilesR, tiles2R, tilesN, tiles2N}) CK(cudaMemset(p, 0, (size_t)maxTiles * 12));
        for (int* p : {numR, num2R}) CK(cudaMemset(p, 0, 4));
        for (int* p : {numN, num2N}) CK(cudaMemset(p, 0xff, 4));
        for (int* p : {idN, slotN, sortedN}) CK(cudaMemset(p, 0xff, (size_t)pairs * 4));
        CK(cudaMemset(splitN, 0xff, (size_t)T * H * 4));
        CK(cudaMemset(recR, 0, recLen * 4));
        CK(cudaMemset(recN, 0, recLen * 4));
        ref();
        neu();
        neu(); // twice: both counters must be back at 0 after each launch
        CK(cudaDeviceSynchronize());
        bool routed = sameBits(splitR, splitN, (size_t)T * H) && sameBits(idR, idN, (size_t)pairs)
                      && sameBits(wR, wN, (size_t)pairs) && sameBits(recR, recN, recLen);
        bool counters = toHost(arrivals, T) == std::vector<int>(T, 0) && toHost(step, 1)[0] == 0;
        bool tilesSame = sameBits(numR, numN, 1) && sameBits(tilesR, tilesN, (size_t)maxTiles * 3)
                         && (tile2 == 0 || (sameBits(num2R, num2N, 1) && sameBits(tiles2R, tiles2N, (size_t)maxTiles * 3)));
        // a valid grouping: expert e owns slots off[e] .. off[e] + cnt[e] - 1, ascending by expert
        auto ids = toHost(idR, pairs), sr = toHost(sortedR, pairs), sn = toHost(sortedN, pairs), pn = toHost(slotN, pairs);
        if (realRows)   // a padding row's pair p is grouped under row 0's pair p % K
            for (int p = real * K; p < pairs; p++) ids[p] = ids[p % K];
        std::vector<int> cnt(E, 0), off(E, 0), seen(pairs, 0);
        for (int p = 0; p < pairs; p++) cnt[ids[p]]++;
        for (int e = 1; e < E; e++) off[e] = off[e - 1] + cnt[e - 1];
        bool valid = true;
        for (int p = 0; p < pairs; p++) {
            int s = pn[p], e = ids[p];
            valid &= s >= off[e] && s < off[e] + cnt[e] && sn[s] == p / K && seen[s]++ == 0;
        }
        bool sets = true;
        for (int e = 0; e < E; e++) {
            std::vector<int> a(sr.begin() + off[e], sr.begin() + off[e] + cnt[e]);
            std::vector<int> b(sn.begin() + off[e], sn.begin() + off[e] + cnt[e]);
            std::sort(a.begin(), a.end());
            std::sort(b.begin(), b.end());
            sets &= a == b;
        }
        bool same = routed && counters && tilesSame && valid && sets;
        if (!same)
            printf("  E=%d K=%d H=%d T=%d real=%d tile2=%d: routing %d, counters %d, tiles %d, valid grouping %d, "
                   "token sets %d\n", E, K, H, T, realRows ? real : T, tile2, routed, counters, tilesSame, valid, sets);
        char name[96];
        snprintf(name, sizeof name, "%s E%d K%d H%d T%d%s%s%s", variant == 0 ? "router+group" : variant == 1
                 ? "router tiles+group" : "router tiles, group", E, K, H, T, realRows ? " padded" : "",
                 normTopk ? "" : " raw", tile2 ? " +24" : "");
        report(name, same, ref, neu);
    }
}

int main(int argc, char** argv) {
    int T = argc > 1 ? atoi(argv[1]) : 256;
    const int H = 2048, nH = 32, nKV = 4, D = 128, E = 128, K = 8, V = 151936;
    const int qDim = nH * D, kvDim = nKV * D, qkvDim = qDim + 2 * kvDim, pairs = T * K;
    const float eps = 1e-6f;
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("%s, %d SMs, T=%d tokens\n", prop.name, prop.multiProcessorCount, T);

    // positions 512.. (decode with a 512-token prompt), one sequence per token
    std::vector<int> pos(T), slotsH(T);
    for (int t = 0; t < T; t++) pos[t] = 512 + t % 256;
    const int numSlots = 4096;
    std::vector<int> perm(numSlots);
    for (int i = 0; i < numSlots; i++) perm[i] = i;
    std::mt19937 rng(1);
    std::shuffle(perm.begin(), perm.end(), rng);
    for (int t = 0; t < T; t++) slotsH[t] = perm[t];
    int *positions = dev(pos), *slots = dev(slotsH);

    // ---- embed ----
    {
        std::vector<int> tok(T);
        for (int t = 0; t < T; t++) tok[t] = (int)(rng() % V);
        int* tokens = dev(tok);
        bf16* emb;
        CK(cudaMalloc(&emb, (size_t)V * H * 2));
        fill_random_bf16<<<4096, 256>>>(emb, (long long)V * H, 11, 0.05f, 0.f);
        float *xr, *xn;
        CK(cudaMalloc(&xr, (size_t)T * H * 4));
        CK(cudaMalloc(&xn, (size_t)T * H * 4));
        auto ref = [&] { x_embed_ref<<<T, 256>>>(tokens, emb, xr, H); };
        auto neu = [&] { embed<<<T, 256>>>(tokens, emb, xn, H); };
        ref();
        neu();
        CK(cudaDeviceSynchronize());
        report("embed", sameBits(xr, xn, (size_t)T * H), ref, neu);
    }

    // ---- rmsnorm (all rows, and gathered rows as for the final norm) ----
    {
        float* x = dev(normal((size_t)T * H, 2));
        bf16* w = dev(bf16s(H, 3, 1.f, 0.2f));
        std::vector<int> rows(T);
        for (int r = 0; r < T; r++) rows[r] = T - 1 - r;
        int* rowIdx = dev(rows);
        float *outR, *outN, *outS;
        CK(cudaMalloc(&outR, (size_t)T * H * 4));
        CK(cudaMalloc(&outN, (size_t)T * H * 4));
        CK(cudaMalloc(&outS, (size_t)T * H * 4));
        for (const int* ri : {(const int*)nullptr, (const int*)rowIdx}) {
            auto ref = [&] { x_rmsnorm_ref<<<T, 256>>>(x, ri, w, outR, H, eps); };
            auto neu = [&] { rmsnorm<<<T, 256>>>(x, ri, w, outN, outS, H, eps); };
            ref();
            neu();
            CK(cudaDeviceSynchronize());
            // fp32 rows as before, and split rows equal to splitting them (the form the GEMMs read)
            bool same = sameBits(outR, outN, (size_t)T * H) && sameBits(presplit(outR, T, H), outS, (size_t)T * H);
            report(ri ? "rmsnorm + split (gathered rows)" : "rmsnorm + split", same, ref, neu);
        }
    }

    // ---- qk_norm_rope_kv: per-head norm (Qwen3), none and full width; fp32 and bf16 cache ----
    {
        auto qkvH = normal((size_t)T * qkvDim, 4, 0.f, 2.f);
        float* qkv = dev(qkvH);
        bf16 *qNorm1 = dev(bf16s(D, 5, 1.f, 0.3f)), *kNorm1 = dev(bf16s(D, 6, 1.f, 0.3f));
        bf16 *qNorm2 = dev(bf16s(qDim, 7, 1.f, 0.3f)), *kNorm2 = dev(bf16s(kvDim, 8, 1.f, 0.3f));
        std::vector<float> inv(D / 2);
        for (int i = 0; i < D / 2; i++) inv[i] = (float)(1.0 / std::pow(1e6, 2.0 * i / D)); // rope_theta 1e6
        float* invFreq = dev(inv);
        size_t cacheN = (size_t)numSlots * kvDim, qN = (size_t)T * qDim;
        float *qR, *qN_, *kR, *kN, *vR, *vN;
        for (float** p : {&qR, &qN_}) CK(cudaMalloc(p, qN * 4));
        for (float** p : {&kR, &kN, &vR, &vN}) CK(cudaMalloc(p, cacheN * 4));
        int gy = cdiv(nH + 2 * nKV, QKR_THREADS / 32);
        const char* names[] = {"qk_norm_rope_kv (none)", "qk_norm_rope_kv (per head)", "qk_norm_rope_kv (full width)"};
        for (int mode : {1, 0, 2}) {
            const bf16* qn = mode == 2 ? qNorm2 : qNorm1;
            const bf16* kn = mode == 2 ? kNorm2 : kNorm1;
            for (float* p : {qR, qN_}) CK(cudaMemset(p, 0, qN * 4));
            for (float* p : {kR, kN, vR, vN}) CK(cudaMemset(p, 0, cacheN * 4));
            auto ref = [&] { x_qk_norm_rope_kv_ref<<<T, 128>>>(qkv, positions, slots, qn, kn, mode, eps, invFreq, qR, kR, vR, nH, nKV, D); };
            auto neu = [&] { qk_norm_rope_kv<<<dim3(T, gy), QKR_THREADS>>>(qkv, positions, slots, qn, kn, mode, eps, invFreq, qN_, kN, vN, nH, nKV, D); };
            put(qkv, qkvH); // the reference normalises q/k in place
            ref();
            put(qkv, qkvH);
            neu();
            CK(cudaDeviceSynchronize());
            bool same = sameBits(qR, qN_, qN) && sameBits(kR, kN, cacheN) && sameBits(vR, vN, cacheN);
            report(names[mode], same, ref, neu);
        }
        bf16 *kRb = (bf16*)kR, *kNb = (bf16*)kN, *vRb = (bf16*)vR, *vNb = (bf16*)vN;
        for (float* p : {qR, qN_}) CK(cudaMemset(p, 0, qN * 4));
        for (float* p : {kR, kN, vR, vN}) CK(cudaMemset(p, 0, cacheN * 4));
        auto ref = [&] { x_qk_norm_rope_kv_bf16_ref<<<T, 128>>>(qkv, positions, slots, qNorm1, kNorm1, 1, eps, invFreq, qR, kRb, vRb, nH, nKV, D); };
        auto neu = [&] { qk_norm_rope_kv_bf16<<<dim3(T, gy), QKR_THREADS>>>(qkv, positions, slots, qNorm1, kNorm1, 1, eps, invFreq, qN_, kNb, vNb, nH, nKV, D); };
        put(qkv, qkvH);
        ref();
        put(qkv, qkvH);
        neu();
        CK(cudaDeviceSynchronize());
        bool same = sameBits(qR, qN_, qN) && sameBits(kRb, kNb, cacheN) && sameBits(vRb, vNb, cacheN);
        report("qk_norm_rope_kv_bf16 (per head)", same, ref, neu);
    }

    // ---- attention_combine: ceil(ctx / ATT_CHUNK) valid partials of ATT_SPLITS, the rest NaN (never read) ----
    {
        size_t n = (size_t)T * nH * ATT_SPLITS * (D + 2);
        std::vector<float> ph(n, NAN);
        std::mt19937 r2(9);
        std::normal_distribution<float> nd(0.f, 1.f);
        std::uniform_real_distribution<float> ud(1.f, 100.f);
        for (int t = 0; t < T; t++) {
            int nz = std::min(ATT_SPLITS, (pos[t] + 1 + ATT_CHUNK - 1) / ATT_CHUNK);
            for (int h = 0; h < nH; h++)
                for (int z = 0; z < nz; z++) {
                    float* p = &ph[(((size_t)t * nH + h) * ATT_SPLITS + z) * (D + 2)];
                    float l = ud(r2);
                    for (int d = 0; d < D; d++) p[d] = nd(r2) * l * 0.1f;
                    p[D] = 3.f * nd(r2);
                    p[D + 1] = l;
                }
        }
        float* part = dev(ph);
        float *oR, *oN;
        CK(cudaMalloc(&oR, (size_t)T * qDim * 4));
        CK(cudaMalloc(&oN, (size_t)T * qDim * 4));
        auto ref = [&] { x_attention_combine_ref<<<dim3(T, nH), 128>>>(part, positions, nH, D, oR); };
        auto neu = [&] { attention_combine<<<dim3(T, cdiv(nH, 8)), 256>>>(part, positions, nH, D, oN); };
        ref();
        neu();
        CK(cudaDeviceSynchronize());
        // the merge now writes split rows (the O projection's input): the old fp32 output, split, bit for bit
        report("attention_combine (split rows)", sameBits(presplit(oR, T, qDim), oN, (size_t)T * qDim), ref, neu);
    }

    // ---- group_by_expert: K distinct random experts per token ----
    std::vector<int> ids(pairs);
    for (int t = 0; t < T; t++) {
        std::vector<int> e(E);
        for (int i = 0; i < E; i++) e[i] = i;
        std::shuffle(e.begin(), e.end(), rng);
        for (int k = 0; k < K; k++) ids[t * K + k] = e[k];
    }
    int* topIds = dev(ids);
    int* pairSlot;
    {
        const int tile = 16, maxTiles = cdiv(pairs, tile) + E;
        int *rank[2], *sorted[2], *slot[2], *tiles[2], *numTiles[2];
        for (int v = 0; v < 2; v++) {
            for (int** p : {&rank[v], &sorted[v], &slot[v]}) CK(cudaMalloc(p, pairs * 4));
            CK(cudaMalloc(&tiles[v], maxTiles * 12));
            CK(cudaMalloc(&numTiles[v], 4));
            CK(cudaMemset(tiles[v], 0, maxTiles * 12));
        }
        auto ref = [&] { x_group_by_expert_ref<<<1, 1024>>>(topIds, pairs, K, E, tile, rank[0], sorted[0], slot[0], tiles[0], numTiles[0]); };
        auto neu = [&] { group_by_expert<<<1, 1024>>>(topIds, pairs, K, E, tile, 0, rank[1], sorted[1], slot[1], tiles[1], numTiles[1], nullptr, nullptr, nullptr); };
        ref();
        neu();
        CK(cudaDeviceSynchronize());
        // same tiles, and each pair's slot lies in its expert's range (the order inside an expert is free)
        auto sameGrouping = [&](const std::vector<int>& byExpert) {
            bool same = sameBits(numTiles[0], numTiles[1], 1) && sameBits(tiles[0], tiles[1], maxTiles * 3);
            auto sr = toHost(slot[0], pairs), sn = toHost(slot[1], pairs), tn = toHost(sorted[1], pairs);
            std::vector<int> lo(E, pairs), hi(E, -1), seen(pairs, 0);
            for (int p = 0; p < pairs; p++) {
                lo[byExpert[p]] = std::min(lo[byExpert[p]], sr[p]);
                hi[byExpert[p]] = std::max(hi[byExpert[p]], sr[p]);
            }
            for (int p = 0; p < pairs; p++) {
                int sl = sn[p];
                same &= sl >= lo[byExpert[p]] && sl <= hi[byExpert[p]] && tn[sl] == p / K && seen[sl]++ == 0;
            }
            return same;
        };
        report("group_by_expert (1024 threads)", sameGrouping(ids), ref, neu);
        // the second tile list (24 pairs) equals the reference's list for tile = 24, the first one is unchanged
        int *tiles24, *num24, *tiles24Ref, *num24Ref;
        for (int** p : {&tiles24, &tiles24Ref}) {
            CK(cudaMalloc(p, maxTiles * 12));
            CK(cudaMemset(*p, 0, maxTiles * 12));
        }
        for (int** p : {&num24, &num24Ref}) CK(cudaMalloc(p, 4));
        x_group_by_expert_ref<<<1, 1024>>>(topIds, pairs, K, E, 24, rank[0], sorted[0], slot[0], tiles24Ref, num24Ref);
        CK(cudaMemset(tiles[1], 0, maxTiles * 12));
        auto neu2 = [&] { group_by_expert<<<1, 1024>>>(topIds, pairs, K, E, tile, 24, rank[1], sorted[1], slot[1], tiles[1], numTiles[1], tiles24, num24, nullptr); };
        neu2();
        CK(cudaDeviceSynchronize());
        bool same2 = sameBits(num24, num24Ref, 1) && sameBits(tiles24, tiles24Ref, maxTiles * 3)
                     && sameBits(numTiles[0], numTiles[1], 1) && sameBits(tiles[0], tiles[1], maxTiles * 3);
        report("group_by_expert, 2nd list of 24", same2, ref, neu2);
        // a padded graph's step: rows from `real` on are padding, their pairs grouped under row 0's experts — the
        // reference grouping of the ids with those rows' ids replaced by row 0's
        {
            int real = std::max(1, T - 5);
            std::vector<int> idsPad(ids);
            for (int p = real * K; p < pairs; p++) idsPad[p] = ids[p % K];
            int *topPad = dev(idsPad), *realRows = dev(std::vector<int>{real});
            CK(cudaMemset(tiles[0], 0, maxTiles * 12));
            CK(cudaMemset(tiles[1], 0, maxTiles * 12));
            auto refP = [&] { x_group_by_expert_ref<<<1, 1024>>>(topPad, pairs, K, E, tile, rank[0], sorted[0], slot[0], tiles[0], numTiles[0]); };
            auto neuP = [&] { group_by_expert<<<1, 1024>>>(topIds, pairs, K, E, tile, 0, rank[1], sorted[1], slot[1], tiles[1], numTiles[1], nullptr, nullptr, realRows); };
            refP();
            neuP();
            CK(cudaDeviceSynchronize());
            report("group_by_expert, padding rows", sameGrouping(idsPad), refP, neuP);
            // put the unpadded grouping back for the kernels below
            neu();
            CK(cudaDeviceSynchronize());
        }
        pairSlot = slot[1];
    }

    // ---- moe_combine: x += sum_k w_k y[pairSlot], normalised random weights ----
    {
        auto xh = normal((size_t)T * H, 10);
        float *xR = dev(xh), *xN = dev(xh);
        float* y = dev(normal((size_t)pairs * H, 12, 0.f, 0.5f));
        std::vector<float> wh(pairs);
        std::uniform_real_distribution<float> ud(0.01f, 1.f);
        for (int t = 0; t < T; t++) {
            float s = 0.f;
            for (int k = 0; k < K; k++) s += (wh[t * K + k] = ud(rng));
            for (int k = 0; k < K; k++) wh[t * K + k] /= s;
        }
        float* topW = dev(wh);
        auto ref = [&] { x_moe_combine_ref<<<T, 256>>>(xR, y, pairSlot, topW, K, H); };
        auto neu = [&] { moe_combine<<<T, 256>>>(xN, y, pairSlot, topW, K, H); };
        ref();
        neu();
        CK(cudaDeviceSynchronize());
        report("moe_combine", sameBits(xR, xN, (size_t)T * H), ref, neu);

        // ---- moe_combine_rmsnorm (issue 14, few rows): the combine and the next layer's attention RMSNorm in one
        // launch against moe_combine then rmsnorm; x, the fp32 rows and the split rows bit for bit, with the fp32
        // output and without it (the backend writes split rows only) ----
        bf16* wn = dev(bf16s(H, 13, 1.f, 0.2f));
        float *outR, *outN, *splitR, *splitN;
        CK(cudaMalloc(&outR, (size_t)T * H * 4));
        CK(cudaMalloc(&outN, (size_t)T * H * 4));
        CK(cudaMalloc(&splitR, (size_t)T * H * 4));
        CK(cudaMalloc(&splitN, (size_t)T * H * 4));
        for (bool fp32Out : {true, false}) {
            float *xR2 = dev(xh), *xN2 = dev(xh);
            float* oR = fp32Out ? outR : nullptr;
            float* oN = fp32Out ? outN : nullptr;
            auto ref2 = [&] {
                moe_combine<<<T, 256>>>(xR2, y, pairSlot, topW, K, H);
                rmsnorm<<<T, 256>>>(xR2, nullptr, wn, oR, splitR, H, eps);
            };
            auto neu2 = [&] { moe_combine_rmsnorm<<<T, 256>>>(xN2, y, pairSlot, topW, K, H, wn, oN, splitN, eps); };
            CK(cudaMemset(splitN, 0xff, (size_t)T * H * 4));
            ref2();
            neu2();
            CK(cudaDeviceSynchronize());
            bool same2 = sameBits(xR2, xN2, (size_t)T * H) && sameBits(splitR, splitN, (size_t)T * H)
                         && (!fp32Out || sameBits(outR, outN, (size_t)T * H));
            report(fp32Out ? "moe_combine + rmsnorm fused, +fp32" : "moe_combine + rmsnorm fused (split)", same2,
                   ref2, neu2);
        }
    }
    // ---- router_topk_norm (issue 14, few rows): the MoE block's RMSNorm inside the router against rmsnorm then
    // router_topk (1,024 threads, as the host launches both at <= 32 tokens): ids, weights, the routing record and
    // the split rows for the gate/up product bit for bit ----
    {
        const int numMoe = 48, moeSlot = 5;
        float* x = dev(normal((size_t)T * H, 14));
        bf16* nw = dev(bf16s(H, 15, 1.f, 0.2f));
        bf16* wr = dev(bf16s((size_t)E * H, 16, 0.f, 0.05f));
        float *xn, *splitR, *splitN, *wR, *wN;
        int *idR, *idN, *recR, *recN;
        size_t recN_ = (size_t)T * 2 * numMoe * K;
        CK(cudaMalloc(&xn, (size_t)T * H * 4));
        CK(cudaMalloc(&splitR, (size_t)T * H * 4));
        CK(cudaMalloc(&splitN, (size_t)T * H * 4));
        CK(cudaMalloc(&wR, (size_t)T * K * 4));
        CK(cudaMalloc(&wN, (size_t)T * K * 4));
        CK(cudaMalloc(&idR, (size_t)T * K * 4));
        CK(cudaMalloc(&idN, (size_t)T * K * 4));
        CK(cudaMalloc(&recR, recN_ * 4));
        CK(cudaMalloc(&recN, recN_ * 4));
        CK(cudaMemset(recR, 0, recN_ * 4));
        CK(cudaMemset(recN, 0, recN_ * 4));
        for (int normTopk : {1, 0}) {
            auto ref = [&] {
                rmsnorm<<<T, 256>>>(x, nullptr, nw, xn, splitR, H, eps);
                router_topk<<<T, 1024>>>(xn, wr, E, H, K, normTopk, moeSlot, numMoe, idR, wR, recR);
            };
            auto neu = [&] {
                router_topk_norm<<<T, 1024>>>(x, nw, eps, splitN, wr, E, H, K, normTopk, moeSlot, numMoe, idN, wN, recN);
            };
            ref();
            neu();
            CK(cudaDeviceSynchronize());
            bool same = sameBits(splitR, splitN, (size_t)T * H) && sameBits(idR, idN, (size_t)T * K)
                        && sameBits(wR, wN, (size_t)T * K) && sameBits(recR, recN, recN_);
            report(normTopk ? "rmsnorm + router_topk fused" : "rmsnorm + router_topk fused, raw", same, ref, neu);
            // the experts over `parts` blocks per token, the last block of each token running the top-k
            float* logits;
            int* arrivals;
            CK(cudaMalloc(&logits, (size_t)T * E * 4));
            CK(cudaMalloc(&arrivals, (size_t)T * 4));
            CK(cudaMemset(arrivals, 0, (size_t)T * 4));
            for (int parts : {2, 4, 8}) {
                auto neuP = [&] {
                    router_topk_norm_parts<<<dim3(T, parts), 256>>>(x, nw, eps, splitN, wr, E, H, K, normTopk, moeSlot,
                                                                    numMoe, idN, wN, recN, logits, arrivals);
                };
                CK(cudaMemset(splitN, 0xff, (size_t)T * H * 4));
                CK(cudaMemset(idN, 0xff, (size_t)T * K * 4));
                CK(cudaMemset(recN, 0, recN_ * 4));
                neuP();
                neuP(); // twice: the arrival counters must be back at 0 after each launch
                CK(cudaDeviceSynchronize());
                bool sameP = sameBits(splitR, splitN, (size_t)T * H) && sameBits(idR, idN, (size_t)T * K)
                             && sameBits(wR, wN, (size_t)T * K) && sameBits(recR, recN, recN_)
                             && toHost(arrivals, T) == std::vector<int>(T, 0);
                char name[64];
                snprintf(name, sizeof name, "  same over %d blocks per token%s", parts, normTopk ? "" : ", raw");
                report(name, sameP, ref, neuP);
            }
        }
    }
    // the fused router + grouping at the decode batch sizes, whatever T: Qwen3-30B-A3B (E 128, K 8) and E 64, K 6
    for (int shape = 0; shape < 2; shape++)
        for (int tg : {1, 10, 16, 32}) routerGroupCheck(tg, shape ? 64 : 128, shape ? 6 : 8, H, eps, 0);
    // the tiled router above 32 tokens (issue 14), with and without the grouping in its launch; tiles cut short too
    for (int shape = 0; shape < 2; shape++)
        for (int tg : {33, 64, 127, 128, 256, 1024})
            for (int variant : {1, 2}) routerGroupCheck(tg, shape ? 64 : 128, shape ? 6 : 8, H, eps, variant);
    // padded decode graphs (10 sequences in 16 rows; 59 in 64), raw weights, and Qwen2-MoE's 60 experts with a width
    // that is no multiple of 256
    routerGroupCheck(16, 128, 8, H, eps, 0, 1, 10);
    for (int variant : {1, 2}) {
        routerGroupCheck(64, 128, 8, H, eps, variant, 1, 59);
        routerGroupCheck(48, 128, 8, H, eps, variant, 0);
        routerGroupCheck(40, 60, 4, 1000, eps, variant, 1, 37);
    }
    printf(allSame ? "all identical\n" : "SOME OUTPUTS DIFFER\n");
    return allSame ? 0 : 1;
}
