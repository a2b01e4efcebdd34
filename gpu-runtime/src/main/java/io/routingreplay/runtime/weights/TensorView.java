package io.routingreplay.runtime.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A read-only, memory-mapped tensor: its bytes stay in the page cache, never on the heap. Element reads convert
 * to float32 on the fly.
 */
public final class TensorView {
    public final String name;
    public final Dtype dtype;
    public final long[] shape;
    /** Little-endian view of exactly this tensor's bytes. */
    private final ByteBuffer data;

    public TensorView(String name, Dtype dtype, long[] shape, ByteBuffer data) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape;
        this.data = data.order(ByteOrder.LITTLE_ENDIAN);
        long expected = numel() * dtype.bytes;
        if (data.remaining() != expected) {
            throw new IllegalArgumentException("tensor '" + name + "' has " + data.remaining() + " bytes, shape "
                    + Arrays.toString(shape) + " × " + dtype + " needs " + expected);
        }
    }

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public float get(long index) {
        int i = Math.toIntExact(index);
        return switch (dtype) {
            case BF16 -> Dtype.bf16ToFloat(data.getShort(i * 2));
            case F16 -> Dtype.f16ToFloat(data.getShort(i * 2));
            case F32 -> data.getFloat(i * 4);
        };
    }

    /** Converts {@code n} elements starting at element {@code from} into {@code dst[dstOff..]}. */
    public void toFloat(long from, float[] dst, int dstOff, int n) {
        int base = Math.toIntExact(from);
        switch (dtype) {
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOff + i] = Float.intBitsToFloat((data.getShort((base + i) * 2) & 0xffff) << 16);
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOff + i] = Dtype.f16ToFloat(data.getShort((base + i) * 2));
                }
            }
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOff + i] = data.getFloat((base + i) * 4);
                }
            }
        }
    }

    /** The whole tensor as float32 (only for small tensors: norms, routers). */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel())];
        toFloat(0, out, 0, out.length);
        return out;
    }

    /** The raw stored bytes (for uploading to a device), positioned at 0. */
    public ByteBuffer bytes() {
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Fails with a message naming the tensor unless its shape is exactly {@code expected}. */
    public TensorView expectShape(long... expected) {
        if (!Arrays.equals(shape, expected)) {
            throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(shape)
                    + ", expected " + Arrays.toString(expected) + " from config.json");
        }
        return this;
    }
}
