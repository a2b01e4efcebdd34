// The GEMM entries again, multiplying the weights by the activations rounded to bf16 (the hi halves of the split rows)
// instead of hi + lo: GemmInputs.BF16 (`--gemm-inputs bf16`). CudaDevice loads this module beside kernels.ptx and
// takes these entries from it; every other kernel, and the entries' names, arguments and launch shapes, are the
// same. Each output is still a sum whose order depends on K only: batch invariance holds as in kernels.ptx.
#define GEMM_INPUTS_BF16 1
#include "kernels/gemm.cuh"
#include "gemm_staged.cuh"
#include "gemm_tiled.cuh"
