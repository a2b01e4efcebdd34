package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.backend.KvSwapSpace;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;

import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static jcuda.driver.CUevent_flags.CU_EVENT_DISABLE_TIMING;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;

/**
 * The CUDA backend's swap space: pinned, device-mapped host memory that whole K/V blocks are copied to and from by
 * two kernels (kernels/kv_swap.cuh), one launch per direction per step on the device's stream ahead of the step's
 * kernels: {@code kv_swap_out} for every (block, slot) pair of the step's preempted blocks, then {@code kv_swap_in}
 * for its re-admitted ones. Stream order makes the copies out finish before a block is rewritten and the copies in
 * before attention reads them; the host never touches the bytes, so nothing waits. (It replaced one
 * cuMemcpyAsync per block run and region: a decoding batch's blocks interleave, so runs were one block and a swap of
 * 3.7k blocks was ~355k 16 KiB copies, µs of driver call and DMA latency each.)
 *
 * <p>Host memory ({@link KvSwapLayout}) is taken in chunks as slots are first used (pinning the whole space up front
 * would cost seconds at start and memory a run without preemptions never needs); each chunk's device address goes
 * into a device table the kernels index by {@code slot / slotsPerChunk}, next to a table of the regions' bases.
 * Pinning a chunk takes a fraction of a second (the driver faults in and locks every page), which the engine's
 * thread would spend while the GPU waits: so a thread of the swap space's own pins chunk c + 1 when chunk c is first
 * used, and a swap only waits when it outruns it. Chunk 0 is pinned by the first swap itself: a run that never
 * preempts starts no thread and pins nothing.
 *
 * <p>A step's pairs ({@link KvSwapTable}) are packed into a pinned staging buffer and uploaded with one
 * cuMemcpyHtoDAsync on the stream (pinned, so the copy is truly asynchronous and the engine thread does not wait for
 * the stream). The staging buffer and the device table are rewritten, or grown (freed and allocated again), only
 * after {@link #done} — recorded after the step's launches — has completed: until then the upload may still be
 * reading the one and the kernels the other. The forward after a swap synchronises the stream, so the wait normally
 * finds the event long complete; it is there so that correctness does not depend on the engine's call pattern.
 */
final class CudaKvSwap implements KvSwapSpace {
    static final long CHUNK_BYTES = 256L << 20;
    /** Most thread blocks a launch takes; beyond, each walks several (pair, region) units. */
    private static final int MAX_GRID = 1 << 16;
    /** kernels/kv_swap.cuh's KV_SWAP_THREADS (its launch bounds). */
    private static final int THREADS = 256;

    private final CudaDevice dev;
    private final KvSwapLayout layout;
    private final int numBlocks;
    /** Device table of the regions' base addresses (uploaded once). */
    private final CUdeviceptr regionTable;
    /** Device table of the chunks' device-mapped addresses (an entry written when its chunk is pinned). */
    private final CUdeviceptr chunkTable;
    private final Pointer[] chunks;
    private final CUevent done = new CUevent();
    private boolean pending;
    private int capacity; // pairs the staging buffer and the device table hold
    private Pointer staging;
    private IntBuffer stagingInts;
    private CUdeviceptr table;
    private long launches, pairs;
    private int chunksPinned;
    /** Pins chunks ahead of use (one daemon thread); pinning[c] is chunk c's pin, submitted and not yet taken. */
    private final ExecutorService pinner = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "kv-swap-pinner");
        t.setDaemon(true);
        return t;
    });
    private final Future<?>[] pinning;

    /**
     * @param regions    the cache's device buffers (every layer's keys and values)
     * @param blockBytes bytes of one block in every region
     * @param numBlocks  blocks each region holds
     * @param slots      blocks the space holds
     * @param chunkBytes host memory pinned at a time (at least one slot)
     */
    CudaKvSwap(CudaDevice dev, CUdeviceptr[] regions, long blockBytes, int numBlocks, int slots, long chunkBytes) {
        this.dev = dev;
        this.layout = KvSwapLayout.of(regions.length, blockBytes, slots, chunkBytes);
        this.numBlocks = numBlocks;
        this.chunks = new Pointer[layout.numChunks()];
        this.pinning = new Future<?>[layout.numChunks()];
        dev.bind();
        regionTable = dev.alloc(8L * regions.length);
        // an array of device pointers as JCuda writes one: Pointer.to(pointers...) holds their addresses
        cuMemcpyHtoD(regionTable, Pointer.to(regions), 8L * regions.length);
        chunkTable = dev.alloc(8L * chunks.length);
        cuEventCreate(done, CU_EVENT_DISABLE_TIMING);
    }

    /** Over the runner's cache: per layer a key and a value buffer of {@code blockBytes} per block each (GQA and
     *  MLA alike: MLA's cache keeps a padded K/V head per query head, the same width for both). */
    static CudaKvSwap over(CudaDevice dev, CUdeviceptr[] k, CUdeviceptr[] v, long blockBytes, int numBlocks, int slots,
                           long chunkBytes) {
        CUdeviceptr[] regions = new CUdeviceptr[k.length + v.length];
        for (int l = 0; l < k.length; l++) {
            regions[2 * l] = k[l];
            regions[2 * l + 1] = v[l];
        }
        return new CudaKvSwap(dev, regions, blockBytes, numBlocks, slots, chunkBytes);
    }

    @Override
    public int numSlots() {
        return layout.slots();
    }

    /** Kernel launches so far (one per direction of a step that swaps), for the GPU check's report. */
    long launches() {
        return launches;
    }

    /** (block, slot) pairs copied so far, both directions. */
    long pairs() {
        return pairs;
    }

    /** Chunks of host memory taken into use so far (the one pinned ahead not counted until used). */
    int chunksPinned() {
        return chunksPinned;
    }

    @Override
    public void copy(int[] outBlocks, int[] outSlots, int[] inSlots, int[] inBlocks) {
        int nOut = outBlocks.length, nIn = inBlocks.length;
        if (nOut + nIn == 0) {
            return;
        }
        dev.bind();
        if (pending) { // the previous step's upload and kernels are done with the staging buffer and the table
            cuEventSynchronize(done);
            pending = false;
        }
        reserve(nOut + nIn);
        int ints = KvSwapTable.pack(stagingInts, outBlocks, outSlots, inSlots, inBlocks, layout, numBlocks);
        for (int s : outSlots) {
            pin(layout.chunkOf(s));
        }
        for (int s : inSlots) {
            if (chunks[layout.chunkOf(s)] == null) {
                throw new IllegalArgumentException("swap in from slot " + s + ", which was never swapped out");
            }
        }
        cuMemcpyHtoDAsync(table, staging, 4L * ints, dev.stream);
        if (nOut > 0) {
            launch("kv_swap_out", nOut, KvSwapTable.outBlocksAt(), KvSwapTable.outSlotsAt(nOut));
        }
        if (nIn > 0) {
            launch("kv_swap_in", nIn, KvSwapTable.inBlocksAt(nOut), KvSwapTable.inSlotsAt(nOut, nIn));
        }
        cuEventRecord(done, dev.stream);
        pending = true;
        pairs += nOut + nIn;
    }

    private void launch(String kernel, int n, long blocksAt, long slotsAt) {
        long units = (long) n * layout.numRegions();
        dev.launch(kernel, (int) Math.min(units, MAX_GRID), 1, THREADS, table.withByteOffset(blocksAt),
                table.withByteOffset(slotsAt), n, regionTable, layout.numRegions(), chunkTable,
                layout.slotsPerChunk(), layout.blockBytes());
        launches++;
    }

    /** Grows the staging buffer and the device table to hold {@code need} pairs (no upload or kernel in flight). */
    private void reserve(int need) {
        int grown = KvSwapTable.grownCapacity(capacity, need);
        if (grown == capacity) {
            return;
        }
        if (staging != null) {
            dev.freeHost(staging);
            dev.free(table);
        }
        capacity = grown;
        long bytes = 4L * KvSwapTable.INTS_PER_PAIR * capacity;
        staging = dev.allocHost(bytes);
        stagingInts = staging.getByteBuffer(0, bytes).order(ByteOrder.nativeOrder()).asIntBuffer();
        table = dev.alloc(bytes);
    }

    /**
     * Takes chunk {@code c} into use if it is not yet — pinned ahead by {@link #pinAhead} (waiting for that pin when it
     * is still running) or here — and writes its device address into the chunk table: a synchronous copy from
     * pageable memory on the legacy stream, which the device's (blocking) stream is ordered with, so the entry is in
     * place before this step's kernels; a chunk is taken once, so this is rare. Then pins the next chunk ahead.
     */
    private void pin(int c) {
        if (chunks[c] != null) {
            return;
        }
        chunks[c] = pinning[c] != null ? awaitPin(c) : dev.allocHostMapped(layout.chunkBytes());
        pinning[c] = null;
        cuMemcpyHtoD(chunkTable.withByteOffset(8L * c), Pointer.to(dev.mappedDevicePointer(chunks[c])), 8);
        chunksPinned++;
        pinAhead(c + 1);
    }

    /** Starts pinning chunk {@code c} on the pinner thread, unless it is past the last, in use or being pinned. */
    private void pinAhead(int c) {
        if (c < chunks.length && chunks[c] == null && pinning[c] == null) {
            pinning[c] = pinner.submit(() -> {
                dev.bind();
                return dev.allocHostMapped(layout.chunkBytes());
            });
        }
    }

    private Pointer awaitPin(int c) {
        try {
            return (Pointer) pinning[c].get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while pinning swap chunk " + c, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("pinning swap chunk " + c + " (" + layout.chunkBytes() + " bytes) failed: "
                    + e.getCause(), e.getCause());
        }
    }

    /** The pinned chunks and buffers are the device's allocations, freed when the device closes. */
    @Override
    public void close() {
        pinner.shutdown(); // a pin still running ends before the device frees its host memory
        try {
            if (!pinner.awaitTermination(1, TimeUnit.MINUTES)) {
                throw new IllegalStateException("the swap space's pinner thread did not finish within a minute");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        dev.bind();
        if (pending) {
            cuEventSynchronize(done);
        }
        cuEventDestroy(done);
    }
}
