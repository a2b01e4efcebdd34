// Programmatic dependent launch (PDL, Hopper; issue 14): with -Droutingreplay.cuda.pdl=on the engine launches every
// kernel with CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION (PdlLauncher), so kernel N+1 may start while
// kernel N drains, and in a captured decode graph the kernel-to-kernel edges become programmatic ones. Launched
// without that attribute (the default) both instructions below are no-ops: the same kernels, the same bits.
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
//
// The rules every extern "C" __global__ entry follows (PdlEntryRulesTest checks them in the sources):
// - PDL_WAIT() (griddepcontrol.wait: blocks until every kernel this one depends on has completed and its memory is
//   visible) is the entry's first statement: nothing before it reads what an earlier kernel wrote (activations,
//   tile lists, *numTiles, the K/V cache) or writes what another kernel reads, and no block returns before it.
//   The one exception: the dense K-split GEMM entries (gemm.cuh) first call gemmPrefetchDense, which only issues
//   prefetch.global.L2 hints for the block's first weight chunks. Weights are never written by a kernel of a step,
//   and a prefetch only moves data into L2 (the point of coherence), so it cannot make any load return stale data.
// - PDL_TRIGGER() (griddepcontrol.launch_dependents) comes right after it: once every block of this kernel has
//   passed its wait, the next kernel's blocks may launch and run up to their own wait.
// Transitivity: kernel N+2 may read what kernel N wrote (the residual stream, the K/V cache) without waiting on N
// directly. That is safe because every block of N+1 executes PDL_WAIT before it finishes, so N+1 cannot complete
// before N has completed (and flushed); N+2's wait, which returns only when N+1 has completed, therefore also
// orders it after N. For the same reason N+2's pre-wait prologue (GEMM prefetches only) cannot start before N+1's
// blocks all passed their wait, i.e. before N completed.
#pragma once

#define PDL_WAIT() asm volatile("griddepcontrol.wait;\n" ::: "memory")
#define PDL_TRIGGER() asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory")
