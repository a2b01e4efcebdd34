// Weighted combine of the routed experts' outputs plus the shared experts' output, + residual (DeepSeek-V2/V3,
// GLM-4.5, Qwen2-MoE). Part of the one kernels PTX module: kernels.cu includes every header; each header includes
// what it uses.
#pragma once
#include "moe_combine.cuh" // MOE_MAXK, moeLoadPairs, moeRoutedSum4

// ---------------------------------------------------------------------------------------------------------------
// x[t] += (sum_k w[t,k] * y[pairSlot[t*K+k]]) + g[t] * ySh[t]: moe_combine's routed sum (k in order, the same
// arithmetic per element), then the shared experts' row ySh [T][H] (fp32) scaled by g[t] = sharedGate[t] (Qwen2-MoE's
// sigmoid(shared_expert_gate . x), from router_grouped) or added as it is when sharedGate is null, then the residual:
// transformers' order (routed + shared, then the residual add of the decoder layer).
// ---------------------------------------------------------------------------------------------------------------
extern "C" __global__ void moe_combine_shared(float* x, const float* ySorted, const int* pairSlot, const float* topW,
                                              int K, int H, const float* ySh, const float* sharedGate) {
    __shared__ float wS[MOE_MAXK];
    __shared__ const float* yS[MOE_MAXK];
    int t = blockIdx.x;
    moeLoadPairs(wS, yS, ySorted, pairSlot, topW, t, K, H);
    __syncthreads();
    float* xr = x + (size_t)t * H;
    const float* sr = ySh + (size_t)t * H;
    bool gated = sharedGate != nullptr;
    float g = gated ? sharedGate[t] : 1.f;
    if ((H & 3) == 0) {
        for (int i = 4 * threadIdx.x; i < H; i += 4 * blockDim.x) {
            float4 s = moeRoutedSum4(wS, yS, K, i);
            float4 sh = *reinterpret_cast<const float4*>(sr + i);
            if (gated) {
                sh.x = __fmul_rn(g, sh.x);
                sh.y = __fmul_rn(g, sh.y);
                sh.z = __fmul_rn(g, sh.z);
                sh.w = __fmul_rn(g, sh.w);
            }
            float4 xv = *reinterpret_cast<float4*>(xr + i);
            xv.x += __fadd_rn(s.x, sh.x);
            xv.y += __fadd_rn(s.y, sh.y);
            xv.z += __fadd_rn(s.z, sh.z);
            xv.w += __fadd_rn(s.w, sh.w);
            *reinterpret_cast<float4*>(xr + i) = xv;
        }
    } else {
        for (int i = threadIdx.x; i < H; i += blockDim.x) {
            float s = 0.f;
            for (int k = 0; k < K; k++) s += wS[k] * yS[k][i];
            float sh = gated ? __fmul_rn(g, sr[i]) : sr[i];
            xr[i] += __fadd_rn(s, sh);
        }
    }
}
