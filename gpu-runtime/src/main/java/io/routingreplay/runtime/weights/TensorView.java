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

    /**
     * Rows [from, to) of this tensor (its first dimension; elements of a 1-D tensor) copied into a new heap tensor
     * of the same dtype: a contiguous byte range of the mapping, read once. A dequantized fp8 view yields its bf16
     * values.
     */
    public TensorView readRows(long from, long to) {
        long cols = numel() / Math.max(1, shape[0]);
        checkRange("rows", from, to, shape[0]);
        long[] s = shape.clone();
        s[0] = to - from;
        return copyOf(name + "[" + from + ":" + to + "]", s, from * cols, (to - from) * cols, 0, 0);
    }

    /**
     * Columns [from, to) of this 2-D tensor, row by row, into a new heap tensor of the same dtype (each row's
     * columns are one contiguous byte range; the rest of the row is not read).
     */
    public TensorView readColumns(long from, long to) {
        if (shape.length != 2) {
            throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(shape)
                    + "; column slices are defined for 2-D tensors");
        }
        checkRange("columns", from, to, shape[1]);
        return copyOf(name + "[:, " + from + ":" + to + "]", new long[]{shape[0], to - from}, from, to - from,
                shape[0], shape[1]);
    }

    /** Bytes of this tensor's storage that {@code elements} elements occupy (fp8 codes for a dequantized view). */
    public long storedBytes(long elements) {
        return fp8 != null ? elements : elements * dtype.bytes;
    }

    private void checkRange(String what, long from, long to, long n) {
        if (from < 0 || to < from || to > n) {
            throw new IllegalArgumentException("tensor '" + name + "' " + Arrays.toString(shape) + ": " + what
                    + " [" + from + ", " + to + ") outside 0.." + n);
        }
    }

    /**
     * Copies {@code runs} runs of {@code len} elements (one run when {@code runs} is 0), the first at element
     * {@code start}, each next one {@code stride} elements further.
     */
    private TensorView copyOf(String sliceName, long[] sliceShape, long start, long len, long runs, long stride) {
        long n = Math.max(runs, 1);
        int bytesPer = fp8 != null ? 2 : dtype.bytes;
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(n * len * bytesPer)).order(ByteOrder.LITTLE_ENDIAN);
        float[] buf = fp8 != null ? new float[Math.toIntExact(len)] : null;
        for (long r = 0; r < n; r++) {
            long at = start + r * stride;
            if (fp8 != null) {
                fp8.toFloat(at, buf, 0, buf.length);
                for (float v : buf) {
                    out.putShort(Dtype.floatToBf16(v));
                }
            } else {
                ByteBuffer src = data.duplicate();
                src.position(Math.toIntExact(at * dtype.bytes)).limit(Math.toIntExact((at + len) * dtype.bytes));
                out.put(src);
            }
        }
        out.flip();
        return new TensorView(sliceName, fp8 != null ? Dtype.BF16 : dtype, sliceShape, out);
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
