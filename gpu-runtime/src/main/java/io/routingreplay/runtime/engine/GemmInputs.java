package io.routingreplay.runtime.engine;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What the matrix products (every linear layer but the MoE router and the shared-expert gate row) multiply the bf16
 * weights by. Weights are exactly bf16 either way and every product accumulates in fp32.
 *
 * <ul>
 *   <li>{@link #SPLIT} (default): the fp32 activation x as bf16 hi = bf16(x) plus lo = bf16(x − hi), both multiplied
 *       (two tensor-core products per weight on CUDA): about 16 mantissa bits of x, close to fp32. The mode the
 *       conformance suite checks against transformers.</li>
 *   <li>{@link #BF16}: x rounded to bf16 (round to nearest even), as a bf16 engine (vLLM, transformers in bf16)
 *       multiplies it: half the tensor-core work, ~8 mantissa bits of x. Norms, attention, softmax, the router and
 *       the residual stream stay fp32. Batch invariance holds as in SPLIT (the order of each sum depends on K
 *       only); the tokens and routing may differ from SPLIT's (docs/benchmarks.md has the agreement figures).</li>
 * </ul>
 */
public enum GemmInputs {
    SPLIT, BF16;

    /** The spelling of the CLI flag and job option ({@code split}, {@code bf16}). */
    public String flag() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses "split" or "bf16" (any case); the message lists the accepted values. */
    public static GemmInputs parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("GEMM inputs must be one of "
                    + Arrays.stream(values()).map(GemmInputs::flag).collect(Collectors.joining(", ")) + ", got '" + s
                    + "'");
        }
    }

    @Override
    public String toString() {
        return flag();
    }
}
