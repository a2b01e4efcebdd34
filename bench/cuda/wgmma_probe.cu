// Probe: does one Hopper wgmma (m64n8k16, bf16 in, fp32 accumulate) give the same bits as the four mma.sync
// m16n8k16 that cover the same 64 × 8 outputs (one per warp of the warpgroup, as every GEMM of the backend issues
// them)? If it does, a wgmma GEMM that feeds the same fragments in the same order keeps the backend's results bit
// for bit (docs/cuda-notes.md "What is left"); if not, wgmma needs every batch size on it for batch invariance.
// Each block: one warpgroup, random bf16 A (64 × 16·STEPS), B (8 × 16·STEPS), fp32 C; both paths accumulate the
// STEPS k16 products onto C in order. Needs sm_90a:
//   nvcc -O3 -std=c++17 -arch=sm_90a -o /tmp/wgmma_probe bench/cuda/wgmma_probe.cu && /tmp/wgmma_probe
#include <cuda_bf16.h>
#include <stdint.h>

#include <cstdio>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#define STEPS 32
typedef __nv_bfloat16 bf16;

__device__ __forceinline__ uint32_t pack(const bf16* p) { return *reinterpret_cast<const uint32_t*>(p); }

__device__ __forceinline__ void mma16816(float* c, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                                         uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

__device__ int swapDiffs;

// A: [64][16·STEPS] row-major, B: [8][16·STEPS] (K contiguous), C / D: [64][8]
__global__ void probe(const bf16* A, const bf16* B, const float* C, float* Dmma, float* Dwg) {
    __shared__ __align__(128) bf16 bs[STEPS][2][8][8]; // per k16 step: two 8 × 8 core matrices (k 0-7, k 8-15)
    const int K = 16 * STEPS;
    A += (size_t)blockIdx.x * 64 * K;
    B += (size_t)blockIdx.x * 8 * K;
    C += (size_t)blockIdx.x * 64 * 8;
    int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, tq = lane & 3;
    for (int i = tid; i < STEPS * 2 * 8 * 8; i += 128) {
        int s = i / 128, h = (i / 64) % 2, n = (i / 8) % 8, k = i % 8;
        bs[s][h][n][k] = B[n * K + s * 16 + h * 8 + k];
    }
    __syncthreads();
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
    int r0 = 16 * warp + g, r1 = r0 + 8, c0 = 2 * tq;
    float m[4] = {C[r0 * 8 + c0], C[r0 * 8 + c0 + 1], C[r1 * 8 + c0], C[r1 * 8 + c0 + 1]};
    float w[4] = {m[0], m[1], m[2], m[3]};
    // roles swapped (as a kernel with the tokens as A and the weights as B would issue them): warp w, n-block 0,
    // computes D^T rows 0..7 (tokens, padded to 16 with zero rows) × weight columns 16w .. 16w + 7 and + 8 .. 15
    float sw[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
    // start from C^T: lane (g, tq) holds token g, weight rows 16w + 2tq (+1) and 16w + 8 + 2tq (+1)
    for (int h = 0; h < 2; h++) {
        sw[h][0] = C[(16 * warp + 8 * h + 2 * tq) * 8 + g];
        sw[h][1] = C[(16 * warp + 8 * h + 2 * tq + 1) * 8 + g];
    }
    for (int s = 0; s < STEPS; s++) {
        const bf16* a = A + s * 16;
        uint32_t a0 = pack(a + r0 * K + 2 * tq), a1 = pack(a + r1 * K + 2 * tq);
        uint32_t a2 = pack(a + r0 * K + 2 * tq + 8), a3 = pack(a + r1 * K + 2 * tq + 8);
        const bf16* b = B + s * 16;
        mma16816(m, a0, a1, a2, a3, pack(b + g * K + 2 * tq), pack(b + g * K + 2 * tq + 8));
        for (int h = 0; h < 2; h++) { // A = tokens (rows g; rows g + 8 zero), B = weight rows 16w + 8h + g
            const bf16* wr = a + (16 * warp + 8 * h + g) * K;
            mma16816(sw[h], pack(b + g * K + 2 * tq), 0u, pack(b + g * K + 2 * tq + 8), 0u, pack(wr + 2 * tq),
                     pack(wr + 2 * tq + 8));
        }
        // descriptor of B's k16 step: no swizzle, core matrices 128 bytes apart along K (leading byte offset),
        // one core matrix along N (stride byte offset unused: 256)
        uint64_t addr = (uint64_t)__cvta_generic_to_shared(&bs[s][0][0][0]);
        uint64_t desc = ((addr & 0x3FFFF) >> 4) | ((uint64_t)(128 >> 4) << 16) | ((uint64_t)(256 >> 4) << 32);
        asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
        asm volatile(
            "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
            "wgmma.mma_async.sync.aligned.m64n8k16.f32.bf16.bf16 {%0,%1,%2,%3}, {%4,%5,%6,%7}, %8, p, 1, 1, 0;\n}\n"
            : "+f"(w[0]), "+f"(w[1]), "+f"(w[2]), "+f"(w[3])
            : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(desc));
        asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
        asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
    }
    // the swapped results against the mma ones: D^T[g][16w + 8h + 2tq + i] must equal D[16w + 8h + 2tq + i][g]
    __shared__ float dT[64][8];
    dT[r0][c0] = m[0]; dT[r0][c0 + 1] = m[1]; dT[r1][c0] = m[2]; dT[r1][c0 + 1] = m[3];
    __syncthreads();
    int bad = 0;
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 2; i++) {
            float x = sw[h][i], y = dT[16 * warp + 8 * h + 2 * tq + i][g];
            bad += __float_as_uint(x) != __float_as_uint(y);
        }
    if (bad) atomicAdd(&swapDiffs, bad);
    float* dm = Dmma + (size_t)blockIdx.x * 64 * 8;
    float* dw = Dwg + (size_t)blockIdx.x * 64 * 8;
    dm[r0 * 8 + c0] = m[0]; dm[r0 * 8 + c0 + 1] = m[1]; dm[r1 * 8 + c0] = m[2]; dm[r1 * 8 + c0 + 1] = m[3];
    dw[r0 * 8 + c0] = w[0]; dw[r0 * 8 + c0 + 1] = w[1]; dw[r1 * 8 + c0] = w[2]; dw[r1 * 8 + c0 + 1] = w[3];
}

int main() {
    const int blocks = 4096, K = 16 * STEPS;
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<bf16> hA((size_t)blocks * 64 * K), hB((size_t)blocks * 8 * K);
    std::vector<float> hC((size_t)blocks * 64 * 8);
    // activations-like B (hi or lo halves span many magnitudes), weights-like A, C from earlier chunks
    for (auto& v : hA) v = __float2bfloat16(0.05f * nd(rng));
    for (size_t i = 0; i < hB.size(); i++) hB[i] = __float2bfloat16(nd(rng) * (i % 3 == 0 ? 1e-3f : 1.f));
    for (auto& v : hC) v = nd(rng);
    bf16 *A, *B;
    float *C, *Dm, *Dw;
    cudaMalloc(&A, hA.size() * 2);
    cudaMalloc(&B, hB.size() * 2);
    cudaMalloc(&C, hC.size() * 4);
    cudaMalloc(&Dm, hC.size() * 4);
    cudaMalloc(&Dw, hC.size() * 4);
    cudaMemcpy(A, hA.data(), hA.size() * 2, cudaMemcpyHostToDevice);
    cudaMemcpy(B, hB.data(), hB.size() * 2, cudaMemcpyHostToDevice);
    cudaMemcpy(C, hC.data(), hC.size() * 4, cudaMemcpyHostToDevice);
    probe<<<blocks, 128>>>(A, B, C, Dm, Dw);
    cudaError_t e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
        printf("CUDA error %s\n", cudaGetErrorString(e));
        return 1;
    }
    std::vector<float> m(hC.size()), w(hC.size());
    cudaMemcpy(m.data(), Dm, m.size() * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(w.data(), Dw, w.size() * 4, cudaMemcpyDeviceToHost);
    size_t diff = 0;
    double maxRel = 0;
    for (size_t i = 0; i < m.size(); i++) {
        if (memcmp(&m[i], &w[i], 4) != 0) {
            diff++;
            maxRel = std::max(maxRel, (double)fabsf(m[i] - w[i]) / (fabsf(m[i]) + 1e-30));
        }
    }
    printf("%zu outputs (%d k16 steps each): %zu differ between wgmma and mma.sync (max relative difference %.3g)\n",
           m.size(), STEPS, diff, maxRel);
    printf("sample: mma %.9g wgmma %.9g\n", m[12345], w[12345]);
    int swapped = 0;
    cudaMemcpyFromSymbol(&swapped, swapDiffs, 4);
    printf("mma.sync with the roles of A and B swapped (tokens as A, weights as B): %d of %zu outputs differ\n",
           swapped, m.size());
    return diff || swapped ? 2 : 0;
}
