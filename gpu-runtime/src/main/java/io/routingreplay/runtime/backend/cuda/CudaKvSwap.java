package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.backend.KvSwapSpace;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

import java.util.ArrayList;
import java.util.List;

import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;

/**
 * The CUDA backend's swap space: pinned host memory that whole K/V blocks are copied to and from with
 * cuMemcpyDtoHAsync / cuMemcpyHtoDAsync on the device's stream, ahead of the step's kernels (stream order makes the
 * copies out finish before a block is rewritten, and the copies in before attention reads them; the host never
 * touches the bytes, so nothing waits). The cache is a set of regions (per layer: keys, values) in which block
 * {@code b} is the bytes {@code [b, b + 1) × blockBytes[r]}; a slot holds every region's block.
 *
 * <p>Host memory is taken in chunks of {@link #CHUNK_BYTES} as slots are first used (pinning the whole space up
 * front would cost seconds at start and memory a run without preemptions never needs). Within a chunk a region's
 * slots are contiguous, so a run of consecutive blocks going to consecutive slots is one copy per region.
 */
final class CudaKvSwap implements KvSwapSpace {
    static final long CHUNK_BYTES = 256L << 20;

    private final CudaDevice dev;
    private final CUdeviceptr[] regions;
    private final long[] blockBytes;
    /** Host offset of region r's first slot within a chunk. */
    private final long[] regionOffset;
    private final int slots;
    private final int slotsPerChunk;
    private final Pointer[] chunks;
    private long copies;

    /**
     * @param regions    the cache's device buffers (every layer's keys and values)
     * @param blockBytes bytes of one block in each region
     * @param slots      blocks the space holds
     */
    CudaKvSwap(CudaDevice dev, CUdeviceptr[] regions, long[] blockBytes, int slots) {
        this.dev = dev;
        this.regions = regions.clone();
        this.blockBytes = blockBytes.clone();
        this.slots = slots;
        long perSlot = bytesPerBlock(blockBytes);
        this.slotsPerChunk = (int) Math.max(1, Math.min(slots, CHUNK_BYTES / perSlot));
        this.regionOffset = new long[regions.length];
        long off = 0;
        for (int r = 0; r < regions.length; r++) {
            regionOffset[r] = off;
            off += blockBytes[r] * slotsPerChunk;
        }
        this.chunks = new Pointer[(slots + slotsPerChunk - 1) / slotsPerChunk];
    }

    /** Over the runner's cache: per layer a key and a value buffer of {@code blockBytes} per block each (GQA and
     *  MLA alike: MLA's cache keeps a padded K/V head per query head, the same width for both). */
    static CudaKvSwap over(CudaDevice dev, CUdeviceptr[] k, CUdeviceptr[] v, long blockBytes, int slots) {
        CUdeviceptr[] regions = new CUdeviceptr[k.length + v.length];
        long[] bytes = new long[regions.length];
        for (int l = 0; l < k.length; l++) {
            regions[2 * l] = k[l];
            regions[2 * l + 1] = v[l];
            bytes[2 * l] = blockBytes;
            bytes[2 * l + 1] = blockBytes;
        }
        return new CudaKvSwap(dev, regions, bytes, slots);
    }

    static long bytesPerBlock(long[] blockBytes) {
        long sum = 0;
        for (long b : blockBytes) {
            sum += b;
        }
        return sum;
    }

    @Override
    public int numSlots() {
        return slots;
    }

    /** Copy calls issued so far (each a run of blocks in one region), for the GPU check's report. */
    long copies() {
        return copies;
    }

    @Override
    public void copy(int[] outBlocks, int[] outSlots, int[] inSlots, int[] inBlocks) {
        dev.bind();
        copyRuns(outBlocks, outSlots, true);
        copyRuns(inBlocks, inSlots, false);
    }

    /** Copies pairs (block[i], slot[i]), a run at a time ({@link #runs}). */
    private void copyRuns(int[] blocks, int[] slotIds, boolean toHost) {
        for (int[] run : runs(blocks, slotIds, slotsPerChunk)) {
            copyRun(run[0], run[1], run[2], toHost);
        }
    }

    /**
     * The pairs (block[i], slot[i]) in order, grouped into runs {first block, first slot, length} of consecutive
     * blocks going to consecutive slots of one chunk (one copy per region each).
     */
    static List<int[]> runs(int[] blocks, int[] slotIds, int slotsPerChunk) {
        List<int[]> out = new ArrayList<>();
        int i = 0;
        while (i < blocks.length) {
            int j = i + 1;
            while (j < blocks.length && blocks[j] == blocks[j - 1] + 1 && slotIds[j] == slotIds[j - 1] + 1
                    && slotIds[j] / slotsPerChunk == slotIds[i] / slotsPerChunk) {
                j++;
            }
            out.add(new int[]{blocks[i], slotIds[i], j - i});
            i = j;
        }
        return out;
    }

    private void copyRun(int block, int slot, int n, boolean toHost) {
        if (slot < 0 || slot + n > slots) {
            throw new IllegalArgumentException("swap slots " + slot + ".." + (slot + n - 1) + " outside 0.." + (slots - 1));
        }
        Pointer chunk = chunk(slot / slotsPerChunk);
        int inChunk = slot % slotsPerChunk;
        for (int r = 0; r < regions.length; r++) {
            Pointer host = chunk.withByteOffset(regionOffset[r] + inChunk * blockBytes[r]);
            CUdeviceptr device = regions[r].withByteOffset(block * blockBytes[r]);
            if (toHost) {
                cuMemcpyDtoHAsync(host, device, n * blockBytes[r], dev.stream);
            } else {
                cuMemcpyHtoDAsync(device, host, n * blockBytes[r], dev.stream);
            }
            copies++;
        }
    }

    private Pointer chunk(int c) {
        if (chunks[c] == null) {
            // sized for a full chunk (region offsets are the same in every chunk; the last one's spare tail unused)
            chunks[c] = dev.allocHost(bytesPerBlock(blockBytes) * slotsPerChunk);
        }
        return chunks[c];
    }

    /** The pinned chunks are the device's host allocations, freed when the device closes. */
    @Override
    public void close() {
    }
}
