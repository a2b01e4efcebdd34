package io.routingreplay.runtime.kvcache;

import io.routingreplay.runtime.weights.Dtype;
import io.routingreplay.runtime.weights.Fp8E4m3;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Element type of the paged K/V cache (vLLM's {@code --kv-cache-dtype}). K and V are computed in fp32 and rounded to
 * this type when they are written; attention reads the rounded values back and computes in fp32 again, so every
 * backend that rounds the same way reads the same numbers.
 *
 * <ul>
 *   <li>{@link #FP32}: exact; the mode the conformance suite checks against transformers.</li>
 *   <li>{@link #BF16}: round-to-nearest-even to bfloat16 (as torch's {@code .to(torch.bfloat16)}): half the bytes.</li>
 *   <li>{@link #FP8}: float8 e4m3fn (bias 7, no infinities, largest finite ±448), round-to-nearest-even, values
 *       beyond ±448 saturate to ±448 (PTX {@code cvt.rn.satfinite.e4m3x2.f32}); a quarter of the bytes. The scale is
 *       1.0 (vLLM's default when no calibrated {@code k_scale}/{@code v_scale} is given): Qwen3's K is RMS-normalised
 *       per head and V stays far inside ±448 in the models this targets, so no per-tensor scale is stored.</li>
 * </ul>
 */
public enum KvCacheDtype {
    FP32("fp32", 4), BF16("bf16", 2), FP8("fp8", 1);

    private final String flag;
    private final int bytes;

    KvCacheDtype(String flag, int bytes) {
        this.flag = flag;
        this.bytes = bytes;
    }

    /** The spelling of the CLI flag and job option ({@code fp32}, {@code bf16}, {@code fp8}). */
    public String flag() {
        return flag;
    }

    /** Bytes of one cached element. */
    public int bytes() {
        return bytes;
    }

    /** x as this type stores it, read back as fp32. */
    public float round(float x) {
        return switch (this) {
            case FP32 -> x;
            case BF16 -> Dtype.bf16ToFloat(Dtype.floatToBf16(x));
            case FP8 -> Fp8E4m3.decode(Fp8E4m3.encode(x));
        };
    }

    /** Rounds a[from .. from + n) in place. */
    public void roundInPlace(float[] a, int from, int n) {
        if (this == FP32) {
            return;
        }
        for (int i = from; i < from + n; i++) {
            a[i] = round(a[i]);
        }
    }

    public static KvCacheDtype parse(String s) {
        for (KvCacheDtype d : values()) {
            if (d.flag.equals(s.toLowerCase(Locale.ROOT))) {
                return d;
            }
        }
        throw new IllegalArgumentException("K/V cache dtype must be one of "
                + Arrays.stream(values()).map(KvCacheDtype::flag).collect(Collectors.joining(", ")) + ", got '" + s + "'");
    }

    @Override
    public String toString() {
        return flag;
    }
}
