package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.sampler.SamplingParams;
import org.junit.jupiter.api.Test;

import java.nio.IntBuffer;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The words the CUDA kernels read for routing replay and scoring (kernels/replay.cuh) and how the runner reads their
 * outputs back into {@link io.routingreplay.runtime.backend.StepOutput}'s per-chunk arrays (no GPU needed).
 */
class ReplayInputsTest {
    /** 2 MoE layers, top-2, 8 experts, a vocabulary of 100. */
    private static final int L = 2, K = 2, E = 8, V = 100;

    private static SeqChunk chunk(int n, int[] forced, int[] score) {
        return new SeqChunk(new int[n], 0, new int[]{0}, false, SamplingParams.greedy(1), 0L, 0, forced, score);
    }

    private static int[] words(IntBuffer in, int from, int n) {
        int[] w = new int[n];
        for (int i = 0; i < n; i++) {
            w[i] = in.get(from + i);
        }
        return w;
    }

    @Test
    void forcedRowsAndScoredRowsFollowTheStepsTokenOrder() {
        // chunk 0: 3 tokens, the first 2 forced, token 1 scored; chunk 1: 2 free tokens; chunk 2: 2 tokens, the
        // first forced, both scored
        int[] f0 = {1, 2, 3, 4, 5, 6, 7, 0}, f2 = {6, 5, 4, 3};
        List<SeqChunk> chunks = List.of(chunk(3, f0, new int[]{-1, 42, -1}), chunk(2, null, null),
                chunk(2, f2, new int[]{7, 9}));
        IntBuffer in = IntBuffer.allocate(100);
        int base = 10;
        ReplayInputs r = ReplayInputs.pack(chunks, L, K, E, V, in, base);
        assertTrue(r.forced());
        assertEquals(3, r.forcedTokens);
        assertEquals(3, r.scoredRows);
        assertEquals(base, r.offForcedRow);
        assertArrayEquals(new int[]{0, 1, -1, -1, -1, 2, -1}, words(in, r.offForcedRow, 7));
        assertEquals(base + 7, r.offForcedIds);
        assertArrayEquals(new int[]{1, 2, 3, 4, 5, 6, 7, 0, 6, 5, 4, 3}, words(in, r.offForcedIds, 12));
        assertEquals(r.offForcedIds + 12, r.offScoreRows);
        assertArrayEquals(new int[]{1, 5, 6}, words(in, r.offScoreRows, 3));
        assertArrayEquals(new int[]{42, 7, 9}, words(in, r.offScoreTargets, 3));
        assertEquals(r.offScoreTargets + 3, r.endWord);

        // outputs: reproduced [forced row][layer], then the scores
        assertEquals(3 * L + 3, r.outWords());
        IntBuffer out = IntBuffer.allocate(50);
        int outBase = 20;
        int[] reproduced = {2, 1, 0, 2, 1, 1};
        for (int i = 0; i < reproduced.length; i++) {
            out.put(outBase + i, reproduced[i]);
        }
        float[] scores = {-1.5f, -2.25f, -0.125f};
        for (int i = 0; i < 3; i++) {
            out.put(outBase + r.outScores() + i, Float.floatToRawIntBits(scores[i]));
        }
        float[][] s = new float[3][];
        byte[][] rep = new byte[3][];
        r.read(chunks, out, outBase, s, rep);
        assertArrayEquals(new byte[]{2, 1, 0, 2}, rep[0]);
        assertNull(rep[1]);
        assertArrayEquals(new byte[]{1, 1}, rep[2]);
        assertArrayEquals(new float[]{Float.NaN, -1.5f, Float.NaN}, s[0]);
        assertNull(s[1]);
        assertArrayEquals(new float[]{-2.25f, -0.125f}, s[2]);
    }

    @Test
    void aStepThatOnlyScoresHasNoForcedRows() {
        List<SeqChunk> chunks = List.of(chunk(2, null, new int[]{5, -1}), chunk(1, null, null));
        assertTrue(ReplayInputs.any(chunks));
        assertFalse(ReplayInputs.any(List.of(chunk(1, null, null))));
        IntBuffer in = IntBuffer.allocate(20);
        ReplayInputs r = ReplayInputs.pack(chunks, L, K, E, V, in, 4);
        assertFalse(r.forced());
        assertEquals(4, r.offScoreRows);
        assertArrayEquals(new int[]{0}, words(in, r.offScoreRows, 1));
        assertArrayEquals(new int[]{5}, words(in, r.offScoreTargets, 1));
        assertEquals(6, r.endWord);
        assertEquals(1, r.outWords());
    }

    @Test
    void forcedIdsAndScoreTokensTheKernelsCannotReadAreRefused() {
        IntBuffer in = IntBuffer.allocate(100);
        assertEquals("chunk 0: 3 forced ids are not whole positions of 4 within its 2 positions",
                assertThrows(IllegalArgumentException.class, () -> ReplayInputs.pack(
                        List.of(chunk(2, new int[]{1, 2, 3}, null)), L, K, E, V, in, 0)).getMessage());
        assertEquals("chunk 0: 12 forced ids are not whole positions of 4 within its 2 positions",
                assertThrows(IllegalArgumentException.class, () -> ReplayInputs.pack(
                        List.of(chunk(2, new int[12], null)), L, K, E, V, in, 0)).getMessage());
        assertEquals("chunk 1: forced expert id 8 outside 0..7", assertThrows(IllegalArgumentException.class,
                () -> ReplayInputs.pack(List.of(chunk(1, null, null), chunk(1, new int[]{0, 1, 2, 8}, null)),
                        L, K, E, V, in, 0)).getMessage());
        assertEquals("chunk 0: score token 100 outside the vocabulary of 100",
                assertThrows(IllegalArgumentException.class, () -> ReplayInputs.pack(
                        List.of(chunk(2, null, new int[]{100, -1})), L, K, E, V, in, 0)).getMessage());
    }

    @Test
    void theWorkspaceHoldsAStepOfOnlyForcedAndScoredTokens() {
        int maxTokens = 16;
        List<SeqChunk> chunks = List.of(chunk(maxTokens, new int[maxTokens * L * K], new int[maxTokens]));
        IntBuffer in = IntBuffer.allocate((int) ReplayInputs.maxWords(maxTokens, L, K));
        ReplayInputs r = ReplayInputs.pack(chunks, L, K, E, V, in, 0);
        assertEquals(ReplayInputs.maxWords(maxTokens, L, K), r.endWord);
        assertEquals(ReplayInputs.maxOutWords(maxTokens, L), r.outWords());
    }
}
