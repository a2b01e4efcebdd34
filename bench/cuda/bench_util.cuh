// Host helpers shared by the CUDA micro-benchmarks (gemm_bench.cu, small_bench.cu).
#pragma once
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

// every runtime call checked: print where and exit
#define CK(x)                                                                                          \
    do {                                                                                               \
        cudaError_t e_ = (x);                                                                          \
        if (e_ != cudaSuccess) {                                                                       \
            printf("%s:%d %s\n", __FILE__, __LINE__, cudaGetErrorString(e_));                          \
            exit(1);                                                                                   \
        }                                                                                              \
    } while (0)

template <typename T>
static std::vector<T> toHost(const T* d, size_t n) {
    std::vector<T> h(n);
    CK(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
}

// median over `reps` samples of the µs per launch of `batch` back-to-back launches (batch > 1: launches queued as
// in the decode graph, so a kernel's start overlaps the previous one's tail)
template <typename F>
static double timeIt(F launch, int reps, int batch) {
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    for (int i = 0; i < 3; i++) launch();
    std::vector<float> ms;
    for (int i = 0; i < reps; i++) {
        cudaEventRecord(a);
        for (int j = 0; j < batch; j++) launch();
        cudaEventRecord(b);
        cudaEventSynchronize(b);
        float m;
        cudaEventElapsedTime(&m, a, b);
        ms.push_back(m);
    }
    CK(cudaGetLastError());
    CK(cudaEventDestroy(a));
    CK(cudaEventDestroy(b));
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2] * 1e3 / batch;
}

// the n floats at a and b bit for bit equal
static bool sameAll(const float* a, const float* b, long long n) {
    auto ha = toHost(a, n), hb = toHost(b, n);
    return memcmp(ha.data(), hb.data(), n * 4) == 0;
}

// a device copy of h (never freed: the benchmarks are one-shot processes)
template <typename T>
static T* dev(const std::vector<T>& h) {
    T* p;
    CK(cudaMalloc(&p, h.size() * sizeof(T)));
    CK(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
    return p;
}

// n floats ~ N(mean, sd), reproducible from seed
static std::vector<float> normal(size_t n, unsigned seed, float mean = 0.f, float sd = 1.f) {
    std::vector<float> h(n);
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(mean, sd);
    for (auto& v : h) v = d(rng);
    return h;
}

static int cdiv(int a, int b) { return (a + b - 1) / b; }

// copies h into the device buffer d (which holds at least h.size() elements)
template <typename T>
static void put(T* d, const std::vector<T>& h) {
    CK(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
}

// n bf16 values ~ N(mean, sd), reproducible from seed (normal's floats rounded once)
static std::vector<bf16> bf16s(size_t n, unsigned seed, float mean, float sd) {
    auto f = normal(n, seed, mean, sd);
    std::vector<bf16> h(n);
    for (size_t i = 0; i < n; i++) h[i] = __float2bfloat16_rn(f[i]);
    return h;
}

// fp32 rows (rows × K, K % 8 == 0) as the split rows the backend's GEMMs read (kernels.cu storeSplit), in a new
// device buffer: what a producer kernel writes, for the benchmarks that start from fp32 activations
__global__ void x_presplit(const float* x, long long n, float* out) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        storeSplit(out + (i & ~7LL), (int)(i & 7), x[i]);
}
static float* presplit(const float* x, long long rows, int K) {
    float* p;
    CK(cudaMalloc(&p, rows * K * 4));
    x_presplit<<<528, 256>>>(x, rows * K, p);
    CK(cudaDeviceSynchronize());
    return p;
}

// attention_combine as it was at fcca0b8 (one block per (token, head), fp32 output rows): small_bench's reference
// for the backend's merge (which now writes split rows), attention_bench's merge before its CPU comparison
extern "C" __global__ void x_attention_combine_ref(const float* part, const int* positions, int nH, int D, float* out) {
    int t = blockIdx.x, h = blockIdx.y;
    int ctx = positions[t] + 1;
    int nz = min(ATT_SPLITS, (ctx + ATT_CHUNK - 1) / ATT_CHUNK);
    const float* p = part + ((size_t)t * nH + h) * ATT_SPLITS * (D + 2);
    float M = -INFINITY;
    for (int z = 0; z < nz; z++) M = fmaxf(M, p[z * (D + 2) + D]);
    float L = 0.f;
    for (int z = 0; z < nz; z++) L += expf(p[z * (D + 2) + D] - M) * p[z * (D + 2) + D + 1];
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        float a = 0.f;
        for (int z = 0; z < nz; z++) a += expf(p[z * (D + 2) + D] - M) * p[z * (D + 2) + d];
        out[(size_t)t * nH * D + h * D + d] = a / L;
    }
}
