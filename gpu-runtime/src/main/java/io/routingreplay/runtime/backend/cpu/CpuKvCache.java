package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.kvcache.KvCacheDtype;

/**
 * The paged K/V cache on the heap: per layer, per physical block, {@code blockSize} positions of keys
 * ({@code keyWidth} floats each) and values ({@code valueWidth} floats each; MLA's differ from its keys). Values are
 * rounded to the cache dtype on write (stored as fp32: the same numbers as the GPU). Blocks are allocated on first
 * write.
 */
final class CpuKvCache {
    final int blockSize;
    final int keyWidth;
    final int valueWidth;
    private final KvCacheDtype dtype;
    private final float[][][] k;   // [layer][block] -> [blockSize * keyWidth]
    private final float[][][] v;   // [layer][block] -> [blockSize * valueWidth]

    CpuKvCache(int layers, int blocks, int blockSize, int keyWidth, int valueWidth, KvCacheDtype dtype) {
        this.blockSize = blockSize;
        this.keyWidth = keyWidth;
        this.valueWidth = valueWidth;
        this.dtype = dtype;
        this.k = new float[layers][blocks][];
        this.v = new float[layers][blocks][];
    }

    /** Stores token t's keys and values (at position pos, through its block table) in layer l's cache. */
    void write(int l, int[] table, int pos, float[] keys, int kOff, float[] values, int vOff) {
        int block = table[pos / blockSize];
        if (k[l][block] == null) {
            k[l][block] = new float[blockSize * keyWidth];
            v[l][block] = new float[blockSize * valueWidth];
        }
        int ks = (pos % blockSize) * keyWidth, vs = (pos % blockSize) * valueWidth;
        System.arraycopy(keys, kOff, k[l][block], ks, keyWidth);
        System.arraycopy(values, vOff, v[l][block], vs, valueWidth);
        dtype.roundInPlace(k[l][block], ks, keyWidth);
        dtype.roundInPlace(v[l][block], vs, valueWidth);
    }

    int layers() {
        return k.length;
    }

    float[][] keys(int l) {
        return k[l];
    }

    float[][] values(int l) {
        return v[l];
    }
}
