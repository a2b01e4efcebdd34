// Micro-benchmark of the swap space's block copies (kernels/kv_swap.cuh, CudaKvSwap) at the Qwen3-30B-A3B shape:
// 96 regions (48 layers' K and V), blocks of 16 positions × 4 K/V heads × 128 dims bf16 = 16 KiB per region, host
// slots slot-major in 256 MiB chunks of pinned, device-mapped memory (170 slots each), as the backend lays them out.
// For 100 / 1,000 / 4,000 scattered (block, slot) pairs (random distinct blocks of a 4,096-block cache, random
// distinct slots of 4,096 — so pairs cross chunks and nothing is contiguous), each way:
//   kernel   one upload of the pair table (pinned staging, cudaMemcpyAsync) + one kv_swap_out / kv_swap_in launch;
//   per-block the path it replaced: one cudaMemcpyAsync per pair and region (16 KiB each).
// Checks, bit for bit against the CPU's formula for every word: the host slots after kv_swap_out hold the blocks'
// bytes; the cache after kv_swap_in (into other blocks) holds them again, and no block outside the pairs changed.
// Prints per case and way: GPU ms (events around the enqueue), host ms to enqueue, GB/s over the bytes moved.
// On the GPU machine:
//   nvcc -O3 -std=c++17 -arch=sm_90 -o /tmp/bin/kv_swap_bench bench/cuda/kv_swap_bench.cu && /tmp/bin/kv_swap_bench
// (or bench/cuda/run-bench.sh kv_swap_bench). Exit status 1 when a check fails.
#include "../../gpu-runtime/src/main/cuda/kernels.cu"
#include "bench_util.cuh"

#include <chrono>
#include <numeric>

static const int REGIONS = 96;
static const long long BLOCK_BYTES = 16 * 4 * 128 * 2; // 16 KiB
static const int NUM_BLOCKS = 4096;                    // per region: 64 MiB, 6 GiB in all
static const int SLOTS = 4096;
static const long long SLOT_BYTES = REGIONS * BLOCK_BYTES;
static const int SLOTS_PER_CHUNK = (int)((256LL << 20) / SLOT_BYTES); // 170
static const int CHUNKS = (SLOTS + SLOTS_PER_CHUNK - 1) / SLOTS_PER_CHUNK;
static const long long WORDS = BLOCK_BYTES / 4; // u32 words per block

// the word w of block b in region r, as the fill kernel writes it (tag: which fill, so a stale byte shows)
__host__ __device__ static inline unsigned wordOf(int r, int b, long long w, unsigned tag) {
    unsigned x = (unsigned)r * 0x9E3779B1u ^ (unsigned)b * 0x85EBCA77u ^ (unsigned)w * 0xC2B2AE3Du ^ tag;
    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    x ^= x >> 12;
    return x;
}

__global__ void x_fill(unsigned* const* regions, unsigned tag) {
    int r = blockIdx.y;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < NUM_BLOCKS * WORDS;
         i += (long long)gridDim.x * blockDim.x)
        regions[r][i] = wordOf(r, (int)(i / WORDS), i % WORDS, tag);
}

struct Space {
    std::vector<unsigned*> regions;            // device
    unsigned long long* regionTable;           // device copy of the regions' addresses
    std::vector<char*> chunks;                 // host (pinned, mapped)
    unsigned long long* chunkTable;            // their device addresses
    int* table;                                // device pair table
    int* staging;                              // pinned staging of the pair table
};

static char* slotHost(const Space& s, int slot, int r) {
    return s.chunks[slot / SLOTS_PER_CHUNK] + ((long long)(slot % SLOTS_PER_CHUNK) * REGIONS + r) * BLOCK_BYTES;
}

static std::vector<int> distinct(int n, int range, std::mt19937& rng) {
    std::vector<int> all(range);
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), rng);
    all.resize(n);
    return all;
}

// kernel way: table upload + one launch, as CudaKvSwap enqueues them
static void kernelWay(const Space& s, bool out, const std::vector<int>& blocks, const std::vector<int>& slots,
                      cudaStream_t st) {
    int n = (int)blocks.size();
    memcpy(s.staging, blocks.data(), 4 * n);
    memcpy(s.staging + n, slots.data(), 4 * n);
    CK(cudaMemcpyAsync(s.table, s.staging, 8LL * n, cudaMemcpyHostToDevice, st));
    long long units = (long long)n * REGIONS;
    int grid = (int)std::min<long long>(units, 1 << 16);
    if (out)
        kv_swap_out<<<grid, KV_SWAP_THREADS, 0, st>>>(s.table, s.table + n, n, s.regionTable, REGIONS, s.chunkTable,
                                                      SLOTS_PER_CHUNK, BLOCK_BYTES);
    else
        kv_swap_in<<<grid, KV_SWAP_THREADS, 0, st>>>(s.table, s.table + n, n, s.regionTable, REGIONS, s.chunkTable,
                                                     SLOTS_PER_CHUNK, BLOCK_BYTES);
}

// the replaced way: one async copy per pair and region
static void perBlockWay(const Space& s, bool out, const std::vector<int>& blocks, const std::vector<int>& slots,
                        cudaStream_t st) {
    for (size_t i = 0; i < blocks.size(); i++)
        for (int r = 0; r < REGIONS; r++) {
            char* h = slotHost(s, slots[i], r);
            char* d = (char*)s.regions[r] + blocks[i] * BLOCK_BYTES;
            if (out)
                CK(cudaMemcpyAsync(h, d, BLOCK_BYTES, cudaMemcpyDeviceToHost, st));
            else
                CK(cudaMemcpyAsync(d, h, BLOCK_BYTES, cudaMemcpyHostToDevice, st));
        }
}

// {GPU ms, host enqueue ms}, median of reps
template <typename F>
static std::pair<double, double> timeWay(F way, int reps, cudaStream_t st) {
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    way();
    CK(cudaStreamSynchronize(st));
    std::vector<double> gpu, host;
    for (int i = 0; i < reps; i++) {
        CK(cudaEventRecord(a, st));
        auto t0 = std::chrono::steady_clock::now();
        way();
        auto t1 = std::chrono::steady_clock::now();
        CK(cudaEventRecord(b, st));
        CK(cudaEventSynchronize(b));
        float ms;
        CK(cudaEventElapsedTime(&ms, a, b));
        gpu.push_back(ms);
        host.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    CK(cudaGetLastError());
    std::sort(gpu.begin(), gpu.end());
    std::sort(host.begin(), host.end());
    return {gpu[gpu.size() / 2], host[host.size() / 2]};
}

static void fill(const Space& s, unsigned** regionsDev, unsigned tag) {
    x_fill<<<dim3(264, REGIONS), 256>>>(regionsDev, tag);
    CK(cudaDeviceSynchronize());
}

int main() {
    CK(cudaSetDevice(0));
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("%s: %d regions × %lld B blocks, %d-block cache per region, %d slots in %d pinned mapped chunks of %d\n",
           prop.name, REGIONS, BLOCK_BYTES, NUM_BLOCKS, SLOTS, CHUNKS, SLOTS_PER_CHUNK);
    Space s;
    s.regions.resize(REGIONS);
    std::vector<unsigned long long> addr(REGIONS);
    for (int r = 0; r < REGIONS; r++) {
        CK(cudaMalloc(&s.regions[r], NUM_BLOCKS * BLOCK_BYTES));
        addr[r] = (unsigned long long)s.regions[r];
    }
    s.regionTable = dev(addr);
    unsigned** regionsDev = (unsigned**)s.regionTable;
    std::vector<unsigned long long> chunkAddr(CHUNKS);
    s.chunks.resize(CHUNKS);
    for (int c = 0; c < CHUNKS; c++) {
        CK(cudaHostAlloc(&s.chunks[c], SLOTS_PER_CHUNK * SLOT_BYTES, cudaHostAllocMapped | cudaHostAllocPortable));
        void* d;
        CK(cudaHostGetDevicePointer(&d, s.chunks[c], 0));
        chunkAddr[c] = (unsigned long long)d;
    }
    s.chunkTable = dev(chunkAddr);
    CK(cudaMalloc(&s.table, 8LL * SLOTS));
    CK(cudaMallocHost(&s.staging, 8LL * SLOTS));
    cudaStream_t st;
    CK(cudaStreamCreate(&st));
    std::mt19937 rng(14);
    bool ok = true;
    printf("%6s %4s %-9s %9s %9s %8s\n", "pairs", "way", "path", "GPU ms", "host ms", "GB/s");
    for (int n : {100, 1000, 4000}) {
        auto outBlocks = distinct(n, NUM_BLOCKS, rng), slots = distinct(n, SLOTS, rng);
        auto inBlocks = distinct(n, NUM_BLOCKS, rng);
        double gb = (double)n * SLOT_BYTES / 1e9;
        // out: the kernel's slots hold the blocks' words
        unsigned tag = 1000u + n;
        fill(s, regionsDev, tag);
        kernelWay(s, true, outBlocks, slots, st);
        CK(cudaStreamSynchronize(st));
        long long bad = 0;
        for (int i = 0; i < n; i++)
            for (int r = 0; r < REGIONS; r++) {
                const unsigned* h = (const unsigned*)slotHost(s, slots[i], r);
                for (long long w = 0; w < WORDS; w++) bad += h[w] != wordOf(r, outBlocks[i], w, tag);
            }
        printf("%6d %4s check     %s (%lld words differ)\n", n, "out", bad ? "FAIL" : "bit-identical", bad);
        ok &= bad == 0;
        // in: into other blocks of a cache filled with another tag; those blocks hold the swapped words, the rest
        // are untouched
        fill(s, regionsDev, tag + 1);
        kernelWay(s, false, inBlocks, slots, st);
        CK(cudaStreamSynchronize(st));
        std::vector<int> from(NUM_BLOCKS, -1);
        for (int i = 0; i < n; i++) from[inBlocks[i]] = outBlocks[i];
        bad = 0;
        std::vector<unsigned> region(NUM_BLOCKS * WORDS);
        for (int r = 0; r < REGIONS; r++) {
            CK(cudaMemcpy(region.data(), s.regions[r], NUM_BLOCKS * BLOCK_BYTES, cudaMemcpyDeviceToHost));
            for (int b = 0; b < NUM_BLOCKS; b++)
                for (long long w = 0; w < WORDS; w++)
                    bad += region[b * WORDS + w]
                           != (from[b] >= 0 ? wordOf(r, from[b], w, tag) : wordOf(r, b, w, tag + 1));
        }
        printf("%6d %4s check     %s (%lld words differ)\n", n, "in", bad ? "FAIL" : "bit-identical", bad);
        ok &= bad == 0;
        for (int way = 0; way < 2; way++) {
            bool out = way == 0;
            const auto& blocks = out ? outBlocks : inBlocks;
            auto k = timeWay([&] { kernelWay(s, out, blocks, slots, st); }, 5, st);
            auto p = timeWay([&] { perBlockWay(s, out, blocks, slots, st); }, n >= 4000 ? 1 : 3, st);
            printf("%6d %4s kernel    %9.3f %9.3f %8.1f\n", n, out ? "out" : "in", k.first, k.second, gb / k.first * 1e3);
            printf("%6d %4s per-block %9.3f %9.3f %8.1f   (kernel %.1fx faster on the GPU, %.0fx on the host)\n", n,
                   out ? "out" : "in", p.first, p.second, gb / p.first * 1e3, p.first / k.first, p.second / k.second);
        }
    }
    printf(ok ? "all checks passed\n" : "SOME CHECKS FAILED\n");
    return ok ? 0 : 1;
}
