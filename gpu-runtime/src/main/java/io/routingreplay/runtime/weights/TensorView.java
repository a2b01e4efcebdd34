package io.routingreplay.runtime.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A read-only, memory-mapped tensor: its bytes stay in the page cache, never on the heap. Element reads convert
 * to float32 on the fly. A dequantized view ({@link #dequantized}) is a {@link Dtype#BF16} tensor whose elements
 * are computed from fp8 codes and block scales when read; {@link #bytes()} materialises it for a device upload.
 */
public final class TensorView {
    public final String name;
    public final Dtype dtype;
    public final long[] shape;
    /** Little-endian view of exactly this tensor's bytes; null for a dequantized view. */
    private final ByteBuffer data;
    /** The fp8 source of a dequantized view; null otherwise. */
    private final BlockFp8Weight fp8;

    public TensorView(String name, Dtype dtype, long[] shape, ByteBuffer data) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape;
        this.data = data.order(ByteOrder.LITTLE_ENDIAN);
        this.fp8 = null;
        long expected = numel() * dtype.bytes;
        if (data.remaining() != expected) {
            throw new IllegalArgumentException("tensor '" + name + "' has " + data.remaining() + " bytes, shape "
                    + Arrays.toString(shape) + " × " + dtype + " needs " + expected);
        }
    }

    private TensorView(BlockFp8Weight fp8) {
        this.name = fp8.name();
        this.dtype = Dtype.BF16;
        this.shape = fp8.shape();
        this.data = null;
        this.fp8 = fp8;
    }

    /** The bf16 tensor an fp8 block-quantized weight stands for (the name and shape of its codes). */
    static TensorView dequantized(BlockFp8Weight fp8) {
        return new TensorView(fp8);
    }

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public float get(long index) {
        if (fp8 != null) {
            return fp8.get(index);
        }
        int i = Math.toIntExact(index);
        return switch (dtype) {
            case BF16 -> Dtype.bf16ToFloat(data.getShort(i * 2));
            case F16 -> Dtype.f16ToFloat(data.getShort(i * 2));
            case F32 -> data.getFloat(i * 4);
            case F8_E4M3 -> Fp8E4m3.decode(data.get(i));
        };
    }

    /** Converts {@code n} elements starting at element {@code from} into {@code dst[dstOff..]}. */
    public void toFloat(long from, float[] dst, int dstOff, int n) {
        if (fp8 != null) {
            fp8.toFloat(from, dst, dstOff, n);
            return;
        }
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
            case F8_E4M3 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOff + i] = Fp8E4m3.decode(data.get(base + i));
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

    /**
     * The raw stored bytes (for uploading to a device), positioned at 0. For a dequantized view: its bf16 values,
     * computed now into a new direct buffer (one tensor at a time, so a large fp8 model never needs its whole bf16
     * size in host memory).
     */
    public ByteBuffer bytes() {
        if (fp8 != null) {
            return fp8.toBf16Bytes();
        }
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
