package io.routingreplay.runtime.parallel;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The in-process collectives of the sharded CPU reference: gathers in rank order, sums in rank order. */
class InProcessCollectivesTest {
    // Four partials whose float32 sum depends on the order: ((1e8 + 1) + -1e8) + 1 = 1 but ((1 + -1e8) + 1) + 1e8 = 0.
    private static final float[][] PARTIALS = {{1e8f, 3f}, {1f, 0.1f}, {-1e8f, 0.2f}, {1f, 0.3f}};

    @Test
    void sumAddsInRankOrderWhateverOrderTheRanksArriveIn() throws Exception {
        float[] expected = PARTIALS[0].clone();
        for (int r = 1; r < 4; r++) {
            for (int i = 0; i < expected.length; i++) {
                expected[i] += PARTIALS[r][i];
            }
        }
        float[] reversed = PARTIALS[3].clone();
        for (int r = 2; r >= 0; r--) {
            for (int i = 0; i < reversed.length; i++) {
                reversed[i] += PARTIALS[r][i];
            }
        }
        assertNotEquals(expected[0], reversed[0], "the partials are chosen so that the order shows");
        for (int[] arrival : new int[][]{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}}) {
            List<float[]> sums = onRanks(4, arrival, c -> c.sumInRankOrder(PARTIALS[c.rank()]));
            for (float[] s : sums) {
                assertArrayEquals(expected, s, "every rank gets ((p0 + p1) + p2) + p3");
            }
        }
    }

    @Test
    void allGatherReturnsEveryRanksArrayInRankOrderAsCopies() throws Exception {
        List<float[][]> got = onRanks(3, new int[]{2, 1, 0}, c -> {
            float[] mine = {c.rank(), 10 * c.rank()};
            float[][] all = c.allGather(mine);
            mine[0] = -1;                          // the caller may reuse its buffer once the gather returned
            return all;
        });
        for (float[][] all : got) {
            assertEquals(3, all.length);
            for (int r = 0; r < 3; r++) {
                assertArrayEquals(new float[]{r, 10 * r}, all[r]);
            }
        }
    }

    @Test
    void allGatherColumnsConcatenatesEachRanksColumnsRowByRow() throws Exception {
        // Rank r holds r + 1 columns of 2 rows: row i column j = 100 r + 10 i + j.
        List<float[]> got = onRanks(3, new int[]{0, 1, 2}, c -> {
            int w = c.rank() + 1;
            float[] mine = new float[2 * w];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < w; j++) {
                    mine[i * w + j] = 100 * c.rank() + 10 * i + j;
                }
            }
            return c.allGatherColumns(mine, 2, new int[]{1, 2, 3});
        });
        float[] expected = {0, 100, 101, 200, 201, 202, 10, 110, 111, 210, 211, 212};
        for (float[] g : got) {
            assertArrayEquals(expected, g);
        }
    }

    @Test
    void aRankThatFailsReleasesTheOthersInsteadOfHangingThem() throws Exception {
        List<InProcessCollectives> comms = InProcessCollectives.group(2);
        ExecutorService pool = Executors.newFixedThreadPool(1);
        try {
            Future<float[][]> waiting = pool.submit(() -> comms.get(0).allGather(new float[]{1}));
            Thread.sleep(100);                     // rank 0 waits for rank 1, which failed before its gather
            comms.get(1).abort();
            Exception e = assertThrows(Exception.class, () -> waiting.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("another rank failed"), e.getCause().getMessage());
        } finally {
            pool.shutdownNow();
        }
    }

    /** Runs {@code body} on each rank's thread, starting them in {@code arrival} order 20 ms apart. */
    private static <T> List<T> onRanks(int n, int[] arrival, Function<Collectives, T> body) throws Exception {
        List<InProcessCollectives> comms = InProcessCollectives.group(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                futures.add(null);
            }
            for (int r : arrival) {
                futures.set(r, pool.submit(() -> body.apply(comms.get(r))));
                Thread.sleep(20);
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) {
                out.add(f.get(10, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }
}
