package io.routingreplay.runtime.parallel;

/**
 * The collectives one rank of an engine takes part in. Only {@link #allGather} moves data; every reduction is built
 * on it here and adds in rank order (rank 0 + rank 1 + … in float32), never in the order a transport's algorithm
 * picks (NCCL's ring and tree all-reduces add in an order that changes with the message size, that is with the
 * batch). A NCCL implementation provides {@code ncclAllGather}; the sums stay these.
 */
public interface Collectives {
    int rank();

    int size();

    /**
     * Every rank's {@code mine} (same length on every rank), indexed by rank, in arrays this rank owns (as NCCL's
     * receive buffer): {@code mine} may be changed once the call returned. Blocks until all ranks have called it.
     */
    float[][] allGather(float[] mine);

    /**
     * The element-wise sum of every rank's {@code partial}: ((p0 + p1) + p2) + … in rank order, the same bits on
     * every rank and for every batch. One rank: {@code partial} itself.
     */
    default float[] sumInRankOrder(float[] partial) {
        if (size() == 1) {
            return partial;
        }
        float[][] parts = allGather(partial);
        float[] sum = parts[0].clone();
        for (int r = 1; r < parts.length; r++) {
            float[] p = parts[r];
            for (int i = 0; i < sum.length; i++) {
                sum[i] += p[i];
            }
        }
        return sum;
    }

    /**
     * A [rows, Σ widths] matrix from each rank's [rows, widths[rank]] column block (rank r's columns after rank
     * r − 1's): logits from vocabulary slices, query rows from head groups. Only copies, so exact.
     */
    default float[] allGatherColumns(float[] mine, int rows, int[] widths) {
        if (size() == 1) {
            return mine;
        }
        float[][] parts = allGather(mine);
        int full = 0;
        for (int w : widths) {
            full += w;
        }
        float[] out = new float[rows * full];
        for (int r = 0, col = 0; r < parts.length; col += widths[r], r++) {
            for (int i = 0; i < rows; i++) {
                System.arraycopy(parts[r], i * widths[r], out, i * full + col, widths[r]);
            }
        }
        return out;
    }

    /** One rank alone: nothing to exchange. */
    Collectives SINGLE = new Collectives() {
        @Override
        public int rank() {
            return 0;
        }

        @Override
        public int size() {
            return 1;
        }

        @Override
        public float[][] allGather(float[] mine) {
            return new float[][]{mine};
        }
    };
}
