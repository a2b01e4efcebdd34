package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.backend.KvSwapSpace;

/**
 * The CPU backend's swap space: slots of heap arrays beside the {@link CpuKvCache} (which is on the heap too, so
 * this is the same memory; what the tier buys here is the code path the GPU's takes, and the cache capacity it
 * frees). A slot keeps a copy of each layer's key and value arrays of one block, allocated on first use; copying
 * back writes the same floats into the device block.
 */
final class CpuKvSwapSpace implements KvSwapSpace {
    private final CpuKvCache cache;
    private final int slots;
    private final float[][][] k;   // [slot][layer] -> [blockSize * keyWidth]; a slot's arrays made on first use
    private final float[][][] v;

    CpuKvSwapSpace(CpuKvCache cache, int slots) {
        this.cache = cache;
        this.slots = slots;
        this.k = new float[slots][][];
        this.v = new float[slots][][];
    }

    /** Heap bytes of one slot (fp32 elements, as the cache stores them whatever its dtype). */
    static long bytesPerBlock(int layers, int blockSize, int keyWidth, int valueWidth) {
        return (long) layers * blockSize * (keyWidth + valueWidth) * Float.BYTES;
    }

    @Override
    public int numSlots() {
        return slots;
    }

    @Override
    public void copy(int[] outBlocks, int[] outSlots, int[] inSlots, int[] inBlocks) {
        for (int i = 0; i < outBlocks.length; i++) {
            if (k[outSlots[i]] == null) {
                k[outSlots[i]] = new float[cache.layers()][];
                v[outSlots[i]] = new float[cache.layers()][];
            }
            for (int l = 0; l < cache.layers(); l++) {
                k[outSlots[i]][l] = copyInto(k[outSlots[i]][l], cache.keys(l)[outBlocks[i]]);
                v[outSlots[i]][l] = copyInto(v[outSlots[i]][l], cache.values(l)[outBlocks[i]]);
            }
        }
        for (int i = 0; i < inSlots.length; i++) {
            for (int l = 0; l < cache.layers(); l++) {
                cache.keys(l)[inBlocks[i]] = copyInto(cache.keys(l)[inBlocks[i]], k[inSlots[i]][l]);
                cache.values(l)[inBlocks[i]] = copyInto(cache.values(l)[inBlocks[i]], v[inSlots[i]][l]);
            }
        }
    }

    /** {@code src} copied into {@code dst} (allocated when missing); null when the source block was never written. */
    private static float[] copyInto(float[] dst, float[] src) {
        if (src == null) {
            return null;
        }
        if (dst == null) {
            return src.clone();
        }
        System.arraycopy(src, 0, dst, 0, src.length);
        return dst;
    }

    @Override
    public void close() {
    }
}
