package io.routingreplay.runtime.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DecodeBucketsTest {
    @Test
    void powersOfTwoThenMultiplesOfSixteen() {
        int[][] cases = {{1, 1}, {2, 2}, {3, 4}, {10, 16}, {16, 16}, {17, 32}, {32, 32}, {33, 48}, {48, 48},
                {49, 64}, {100, 112}, {112, 112}, {113, 128}, {129, 144}, {250, 256}};
        for (int[] c : cases) {
            assertEquals(c[1], DecodeBuckets.rows(c[0], 256), "n = " + c[0]);
        }
    }

    @Test
    void everyStepFitsItsBucketAndTheWorkspace() {
        for (int max : new int[] {1, 7, 100, 256}) {
            for (int n = 1; n <= max; n++) {
                int rows = DecodeBuckets.rows(n, max);
                assertTrue(rows >= n && rows <= max, n + " of " + max + " -> " + rows);
            }
        }
        assertEquals(100, DecodeBuckets.rows(99, 100));
    }

    @Test
    void aStepOutsideTheRunnersLimitIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> DecodeBuckets.rows(0, 256));
        assertThrows(IllegalArgumentException.class, () -> DecodeBuckets.rows(257, 256));
    }
}
