// cp.async helpers (16-byte global -> shared copies, commit, wait) for the staged kernels.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
#pragma once

__device__ __forceinline__ void cpAsync16(void* smem, const void* gmem, bool valid) {
    unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    int n = valid ? 16 : 0; // 0: zero-fill, nothing read
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(n) : "memory");
}
__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N> // waits until at most N of this thread's cp.async groups are pending
__device__ __forceinline__ void cpAsyncWaitN() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
