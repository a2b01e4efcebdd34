// Programmatic dependent launch (PDL, kernels/pdl.cuh, issue 14) on a decode-shaped kernel chain, before the engine
// A/B: a CUDA graph of 48 layers × (rmsnorm of the residual row -> split rows; gemm_store QKV 2,048 -> 5,120;
// rmsnorm of the QKV row -> split rows, standing in for attention + merge; gemm_residual O 4,096 -> 2,048 into the
// residual), the Qwen3-30B-A3B attention-block shapes, each layer with its own weights (1.7 GB: streamed from HBM as
// in a real step). Every kernel reads what the one before it wrote, and the residual carries across layers, so a
// missing wait changes the result. The graph starts with a copy of the initial residual (a memcpy node: the first
// kernel after it has an ordinary edge).
// Three graphs, captured from cudaLaunchKernelEx launches: "off" (no attribute: the engine's default), "PDL, wait
// first" (the attribute; the GEMMs without their weight prefetch: every kernel waits first), "PDL + prefetch" (the
// attribute, the module's GEMMs as they are: dense weight L2 prefetches before the wait). Each graph's final residual
// and QKV must equal "off"'s bit for bit; then µs per layer (median of 20 graph launches).
// On the GPU machine, from the repository root:
//   bench/cuda/run-bench.sh pdl_bench [M ...]     (default M = 1 10 32: rows per step)
#include "../../gpu-runtime/src/main/cuda/kernels.cu"
#include "bench_util.cuh"

#include <cstdio>
#include <cstdlib>
#include <vector>

// the dense K-split GEMMs with every statement after the wait (no weight prefetch before it)
extern "C" __global__ void __launch_bounds__(GEMM_WARPS * 32) x_gemm_store_wait_first(GEMM_ARGS) {
    PDL_WAIT();
    PDL_TRIGGER();
    gemmBody<0, 1>(GEMM_PASS);
}
extern "C" __global__ void __launch_bounds__(GEMM_WARPS * 32) x_gemm_residual_wait_first(GEMM_ARGS) {
    PDL_WAIT();
    PDL_TRIGGER();
    gemmBody<1, 1>(GEMM_PASS);
}

static const int LAYERS = 48, H = 2048, QKV = 5120, QD = 4096;

template <typename... KArgs, typename... Args>
static void launchEx(bool pdl, cudaStream_t s, dim3 grid, int block, void (*k)(KArgs...), Args... args) {
    cudaLaunchAttribute at[1];
    at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    at[0].val.programmaticStreamSerializationAllowed = 1;
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = dim3(block);
    cfg.dynamicSmemBytes = 0;
    cfg.stream = s;
    cfg.attrs = pdl ? at : nullptr;
    cfg.numAttrs = pdl ? 1 : 0;
    CK(cudaLaunchKernelEx(&cfg, k, args...));
}

struct Step {
    int M;
    float *x0, *x, *xn, *qkv, *attn;
    bf16 *normX, *normQ;
    std::vector<bf16*> wqkv, wo;
};

// mode 0: off; 1: PDL, wait first; 2: PDL + the GEMMs' prefetch
static cudaGraphExec_t capture(const Step& st, cudaStream_t s, int mode) {
    bool pdl = mode > 0;
    auto store = mode == 1 ? x_gemm_store_wait_first : gemm_store;
    auto residual = mode == 1 ? x_gemm_residual_wait_first : gemm_residual;
    int M = st.M;
    cudaGraph_t g;
    CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    CK(cudaMemcpyAsync(st.x, st.x0, (size_t)M * H * 4, cudaMemcpyDeviceToDevice, s));
    for (int l = 0; l < LAYERS; l++) {
        launchEx(pdl, s, dim3(M), 256, rmsnorm, (const float*)st.x, (const int*)nullptr, (const bf16*)st.normX,
                 (float*)nullptr, st.xn, H, 1e-6f);
        launchEx(pdl, s, dim3(cdiv(M, 16), QKV / 16), 256, store, (const float*)st.xn, H, (const int*)nullptr,
                 (const bf16*)st.wqkv[l], 0LL, QKV, H, st.qkv, QKV, (const int*)nullptr, (const int*)nullptr, M);
        launchEx(pdl, s, dim3(M), 256, rmsnorm, (const float*)st.qkv, (const int*)nullptr, (const bf16*)st.normQ,
                 (float*)nullptr, st.attn, QKV, 1e-6f);
        // the first QD (4,096) elements of each 5,120-wide split row of attn: the O product's input
        launchEx(pdl, s, dim3(cdiv(M, 16), H / 16), 256, residual, (const float*)st.attn, QKV, (const int*)nullptr,
                 (const bf16*)st.wo[l], 0LL, H, QD, st.x, H, (const int*)nullptr, (const int*)nullptr, M);
    }
    CK(cudaStreamEndCapture(s, &g));
    cudaGraphExec_t e;
    CK(cudaGraphInstantiate(&e, g, 0));
    CK(cudaGraphDestroy(g));
    return e;
}

// median µs of one graph launch over 20 (after 3 warm-up launches)
static double timeGraph(cudaGraphExec_t e, cudaStream_t s) {
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    for (int i = 0; i < 3; i++) CK(cudaGraphLaunch(e, s));
    std::vector<float> ms;
    for (int i = 0; i < 20; i++) {
        CK(cudaEventRecord(a, s));
        CK(cudaGraphLaunch(e, s));
        CK(cudaEventRecord(b, s));
        CK(cudaEventSynchronize(b));
        float m;
        CK(cudaEventElapsedTime(&m, a, b));
        ms.push_back(m);
    }
    CK(cudaEventDestroy(a));
    CK(cudaEventDestroy(b));
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2] * 1e3;
}

static bf16* filled(long long n, unsigned long long seed, float scale, float offset) {
    bf16* p;
    CK(cudaMalloc(&p, n * sizeof(bf16)));
    fill_random_bf16<<<4096, 256>>>(p, n, seed, scale, offset);
    CK(cudaGetLastError());
    return p;
}

int main(int argc, char** argv) {
    std::vector<int> ms;
    for (int i = 1; i < argc; i++) ms.push_back(atoi(argv[i]));
    if (ms.empty()) ms = {1, 10, 32};
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("%s: %d layers x (rmsnorm, gemm_store QKV %dx%d, rmsnorm, gemm_residual O %dx%d), one CUDA graph\n",
           prop.name, LAYERS, QKV, H, H, QD);
    Step st;
    for (int l = 0; l < LAYERS; l++) {
        st.wqkv.push_back(filled((long long)QKV * H, 100 + l, 0.05f, 0.f));
        st.wo.push_back(filled((long long)H * QD, 200 + l, 0.05f, 0.f));
    }
    st.normX = filled(H, 7, 0.1f, 1.f);
    st.normQ = filled(QKV, 8, 0.1f, 1.f);
    int maxM = *std::max_element(ms.begin(), ms.end());
    std::vector<float> hx = normal((size_t)maxM * H, 9);
    st.x0 = dev(hx);
    CK(cudaMalloc(&st.x, (size_t)maxM * H * 4));
    CK(cudaMalloc(&st.xn, (size_t)maxM * H * 4));
    CK(cudaMalloc(&st.qkv, (size_t)maxM * QKV * 4));
    CK(cudaMalloc(&st.attn, (size_t)maxM * QKV * 4));
    CK(cudaDeviceSynchronize());
    cudaStream_t s;
    CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    const char* names[3] = {"off", "PDL, wait first", "PDL + GEMM prefetch"};
    bool ok = true;
    for (int M : ms) {
        if (M < 1) continue;
        st.M = M;
        std::vector<float> refX, refQ;
        double us[3];
        bool same[3] = {true, true, true};
        for (int mode = 0; mode < 3; mode++) {
            cudaGraphExec_t e = capture(st, s, mode);
            // results first (poison the outputs so a skipped kernel cannot pass), then the timing
            CK(cudaMemsetAsync(st.x, 0xff, (size_t)M * H * 4, s));
            CK(cudaMemsetAsync(st.qkv, 0xff, (size_t)M * QKV * 4, s));
            CK(cudaGraphLaunch(e, s));
            CK(cudaStreamSynchronize(s));
            auto hxOut = toHost(st.x, (size_t)M * H);
            auto hq = toHost(st.qkv, (size_t)M * QKV);
            if (mode == 0) {
                refX = hxOut;
                refQ = hq;
            } else {
                same[mode] = memcmp(refX.data(), hxOut.data(), refX.size() * 4) == 0
                             && memcmp(refQ.data(), hq.data(), refQ.size() * 4) == 0;
            }
            us[mode] = timeGraph(e, s);
            // the timed replays must have left the same bits too
            auto again = toHost(st.x, (size_t)M * H);
            same[mode] = same[mode] && memcmp(refX.data(), again.data(), refX.size() * 4) == 0;
            CK(cudaGraphExecDestroy(e));
        }
        for (int mode = 0; mode < 3; mode++) {
            ok = ok && same[mode];
            printf("M=%-3d %-22s %9.1f us/step %7.2f us/layer %6.3fx of off  %s\n", M, names[mode], us[mode],
                   us[mode] / LAYERS, us[mode] / us[0], mode == 0 ? "(reference)" : same[mode] ? "bit-identical" : "DIFFERENT");
        }
    }
    printf(ok ? "all checks passed\n" : "CHECKS FAILED\n");
    return ok ? 0 : 1;
}
