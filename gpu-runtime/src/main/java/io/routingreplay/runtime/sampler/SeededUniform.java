package io.routingreplay.runtime.sampler;

/**
 * The random number a request's sampler draws for output index {@code i}: a pure function of (seed, i), so a
 * request gives the same tokens alone or in any batch, and after a restore (no RNG state to checkpoint).
 * Backends on other devices implement the same SplitMix64 formula.
 */
public final class SeededUniform {
    private SeededUniform() {
    }

    public static long splitMix64(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public static double draw(long seed, int index) {
        long bits = splitMix64(seed ^ splitMix64(index));
        return (bits >>> 11) * 0x1.0p-53;
    }
}
