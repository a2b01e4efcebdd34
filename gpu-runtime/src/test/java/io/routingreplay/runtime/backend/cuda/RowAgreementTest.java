package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingRecord;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The GPU checks' rule for one routing row against the CPU's: near-ties skipped, every other difference reported. */
class RowAgreementTest {

    private static RoutingRecord row(int[] ids, float[] weights) {
        byte[] b = new byte[ids.length];
        for (int i = 0; i < ids.length; i++) {
            b[i] = (byte) ids[i];
        }
        return new RoutingRecord(new RoutingLayout(new int[] {0}, ids.length, 32), 1, b, weights);
    }

    private static int[] compare(RoutingRecord gpu, RoutingRecord cpu, List<String> diffs) {
        return RowAgreement.compare(gpu, cpu, 0, 0, "row", diffs);
    }

    @Test
    void equalRowsAreComparedRankByRank() {
        List<String> diffs = new ArrayList<>();
        RoutingRecord r = row(new int[] {5, 7, 9, 2}, new float[] {0.5f, 0.3f, 0.15f, 0.05f});
        assertArrayEquals(new int[] {4, 0}, compare(r, r, diffs));
        assertEquals(List.of(), diffs);
    }

    @Test
    void aTieBetweenTwoPicksSkipsThatRankAndTheRanksBelowIt() {
        // rank 1: experts 7 and 8 weigh the same within 1e-4 (a group boundary tie), the ranks below differ widely
        List<String> diffs = new ArrayList<>();
        RoutingRecord gpu = row(new int[] {5, 7, 9, 2}, new float[] {0.5f, 0.3f, 0.15f, 0.05f});
        RoutingRecord cpu = row(new int[] {5, 8, 11, 12}, new float[] {0.5f, 0.30004f, 0.01f, 0.005f});
        assertArrayEquals(new int[] {1, 3}, compare(gpu, cpu, diffs));
        assertEquals(List.of(), diffs);
    }

    @Test
    void anotherExpertOfAnotherWeightIsReported() {
        List<String> diffs = new ArrayList<>();
        RoutingRecord gpu = row(new int[] {5, 7, 9, 2}, new float[] {0.5f, 0.3f, 0.15f, 0.05f});
        RoutingRecord cpu = row(new int[] {5, 8, 9, 2}, new float[] {0.5f, 0.29f, 0.15f, 0.05f});
        assertArrayEquals(new int[] {4, 0}, compare(gpu, cpu, diffs));
        assertEquals(1, diffs.size());
        assertTrue(diffs.get(0).startsWith("row k 1: expert 7 vs CPU 8"), diffs.get(0));
    }

    @Test
    void neighboursOfEqualWeightMaySwap() {
        List<String> diffs = new ArrayList<>();
        RoutingRecord gpu = row(new int[] {5, 9, 7, 2}, new float[] {0.5f, 0.2f, 0.2f, 0.1f});
        RoutingRecord cpu = row(new int[] {5, 7, 9, 2}, new float[] {0.5f, 0.20001f, 0.2f, 0.1f});
        assertArrayEquals(new int[] {2, 2}, compare(gpu, cpu, diffs));
        assertEquals(List.of(), diffs);
    }
}
