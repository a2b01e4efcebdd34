// K/V swap copies (issue 14): whole cache blocks between the device K/V cache and the host swap space, one launch per
// direction per step instead of one cuMemcpyAsync per block and region (CudaKvSwap).
// Part of the one kernels PTX module: kernels.cu includes every header; each header includes what it uses.
//
// The host swap space is pinned, device-mapped memory (cuMemHostAlloc DEVICEMAP): the kernel reads and writes it
// over PCIe through its device address, the host never touches the bytes. It is taken in chunks of slotsPerChunk
// slots; a slot holds one block of every region, slot-major: region r's block at r * blockBytes within the slot, so
// one pair writes (or reads) numRegions * blockBytes contiguous host bytes.
//
// Pairs: pair i moves device block blocks[i] <-> host slot slots[i] in every region. Unit u = i * numRegions + r
// (consecutive thread blocks walk one slot's regions, contiguous on the host) is one block of blockBytes bytes
// (a multiple of 16: CudaKvSwap checks), copied in 16-byte words, KV_SWAP_UNROLL loads in flight per thread before
// their stores (PCIe reads are latency-bound; many units and words in flight keep the link busy).
// Stream order is the only synchronisation: kv_swap_out runs before the step's kernels may rewrite a block, and
// kv_swap_in before attention reads one (CudaKvSwap launches both on the step's stream ahead of its forward).
#pragma once

#define KV_SWAP_THREADS 256
#define KV_SWAP_UNROLL 4

// regions[r]: region r's device base; chunks[c]: chunk c's device-mapped host base (0 for a chunk never pinned: no
// pair names one of its slots)
template <bool TO_HOST>
__device__ __forceinline__ void kvSwapBody(const int* __restrict__ blocks, const int* __restrict__ slots, int pairs,
                                           const unsigned long long* __restrict__ regions, int numRegions,
                                           const unsigned long long* __restrict__ chunks, int slotsPerChunk,
                                           long long blockBytes) {
    const long long words = blockBytes >> 4;
    const long long units = (long long)pairs * numRegions;
    for (long long u = blockIdx.x; u < units; u += gridDim.x) {
        const int i = (int)(u / numRegions), r = (int)(u % numRegions);
        const int slot = slots[i];
        uint4* dev = reinterpret_cast<uint4*>(regions[r] + (unsigned long long)blocks[i] * blockBytes);
        uint4* host = reinterpret_cast<uint4*>(chunks[slot / slotsPerChunk]
                                               + ((unsigned long long)(slot % slotsPerChunk) * numRegions + r)
                                                         * blockBytes);
        const uint4* src = TO_HOST ? dev : host;
        uint4* dst = TO_HOST ? host : dev;
        for (long long w0 = threadIdx.x; w0 < words; w0 += KV_SWAP_THREADS * KV_SWAP_UNROLL) {
            uint4 v[KV_SWAP_UNROLL];
#pragma unroll
            for (int k = 0; k < KV_SWAP_UNROLL; k++) {
                long long w = w0 + k * KV_SWAP_THREADS;
                if (w < words) v[k] = src[w];
            }
#pragma unroll
            for (int k = 0; k < KV_SWAP_UNROLL; k++) {
                long long w = w0 + k * KV_SWAP_THREADS;
                if (w < words) dst[w] = v[k];
            }
        }
    }
}

#define KV_SWAP_ENTRY(NAME, TO_HOST)                                                                            \
    extern "C" __global__ void __launch_bounds__(KV_SWAP_THREADS)                                                \
        NAME(const int* blocks, const int* slots, int pairs, const unsigned long long* regions, int numRegions,  \
             const unsigned long long* chunks, int slotsPerChunk, long long blockBytes) {                       \
        kvSwapBody<TO_HOST>(blocks, slots, pairs, regions, numRegions, chunks, slotsPerChunk, blockBytes);     \
    }
KV_SWAP_ENTRY(kv_swap_out, true)   // device blocks -> host slots (a step's preempted blocks)
KV_SWAP_ENTRY(kv_swap_in, false)   // host slots -> device blocks (a step's re-admitted blocks)
