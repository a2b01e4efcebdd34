package io.routingreplay.runtime.weights;

/**
 * Tensor element types a checkpoint may store; the engine computes in float32 whatever the storage type.
 * {@link #F8_E4M3} occurs only in fp8 block-quantized checkpoints, next to a scale tensor: {@link WeightStore}
 * hands such weights out dequantized (as {@link #BF16}), never as raw codes.
 */
public enum Dtype {
    BF16(2), F16(2), F32(4), F8_E4M3(1);

    public final int bytes;

    Dtype(int bytes) {
        this.bytes = bytes;
    }

    public static Dtype fromSafetensors(String name, String tensor) {
        return switch (name) {
            case "BF16" -> BF16;
            case "F16" -> F16;
            case "F32" -> F32;
            case "F8_E4M3" -> F8_E4M3;
            default -> throw new IllegalArgumentException("tensor '" + tensor + "' has dtype " + name
                    + "; supported: BF16, F16, F32, and F8_E4M3 with block scales (quantization_config quant_method"
                    + " fp8)");
        };
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** IEEE half → float32 (Float.float16ToFloat arrived only in Java 20). */
    public static float f16ToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            float v = mant * 0x1.0p-24f; // subnormal: exact in float32
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** Round-to-nearest-even float32 → bf16, as torch does. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) 0x7fc0; // NaN
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
