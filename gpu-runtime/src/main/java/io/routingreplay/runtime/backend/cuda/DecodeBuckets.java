package io.routingreplay.runtime.backend.cuda;

/**
 * The rows a decode step's CUDA graph runs for {@code n} sequences: one graph per bucket, the rows past the step's
 * sequences padding (token 0 at position 0; their outputs are never read and their pairs join row 0's experts,
 * kernels/group_by_expert.cuh). Powers of two up to {@value #POW2_UP_TO} rows, then multiples of {@value #STEP}:
 * above a few dozen rows every padding row costs its share of the dense products, the small per-row kernels, the
 * logits and the sampling, so 100 sequences run 112 rows rather than 128, for a few more graphs (captured on first
 * use). Which bucket runs changes no bits (every kernel's result per row is batch-invariant).
 */
final class DecodeBuckets {
    static final int POW2_UP_TO = 32;
    static final int STEP = 16;

    private DecodeBuckets() {
    }

    /** The graph rows for {@code n} sequences (1 ≤ n ≤ maxSeqs), at most {@code maxSeqs}. */
    static int rows(int n, int maxSeqs) {
        if (n < 1 || n > maxSeqs) {
            throw new IllegalArgumentException("a decode step of " + n + " sequences, outside 1.." + maxSeqs);
        }
        int b;
        if (n <= POW2_UP_TO) {
            b = Integer.highestOneBit(n);
            if (b < n) {
                b <<= 1;
            }
        } else {
            b = (n + STEP - 1) / STEP * STEP;
        }
        return Math.min(b, maxSeqs);
    }
}
