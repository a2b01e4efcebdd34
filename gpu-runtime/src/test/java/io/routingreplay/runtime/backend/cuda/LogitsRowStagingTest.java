package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.sampler.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which row of the step's logits each chunk samples (the part of prompt-end logits that needs no GPU). */
class LogitsRowStagingTest {
    private static final int VOCAB = 10;
    private static final SamplingParams P = SamplingParams.greedy(4);

    private static SeqChunk computed(int tokens, boolean sample, boolean keep) {
        return new SeqChunk(new int[tokens], 0, new int[4], sample, P, 1L, 0, null, null, keep, null);
    }

    private static SeqChunk given(float[] row) {
        return new SeqChunk(new int[0], 32, new int[2], true, P, 1L, 0, null, null, false, row);
    }

    @Test
    void computedRowsComeFirstInChunkOrderThenTheGivenOnes() {
        List<SeqChunk> step = List.of(given(new float[VOCAB]), computed(3, false, false), computed(1, true, false),
                given(new float[VOCAB]), computed(2, true, true));
        // lm_head writes rows 0 and 1 (chunks 2 and 4); the rows copied in take 2 and 3, past what it writes
        assertArrayEquals(new int[]{2, -1, 0, 3, 1}, LogitsRowStaging.sampleRows(step, VOCAB));
        assertEquals(2, LogitsRowStaging.computedRows(step));
        assertTrue(LogitsRowStaging.movesRows(step));
    }

    @Test
    void aStepWithoutPromptEndLogitsKeepsItsRowsAndMovesNone() {
        List<SeqChunk> step = List.of(computed(1, true, false), computed(5, false, false), computed(1, true, false));
        assertArrayEquals(new int[]{0, -1, 1}, LogitsRowStaging.sampleRows(step, VOCAB));
        assertFalse(LogitsRowStaging.movesRows(step));
        // a chunk that does not sample keeps nothing, whatever it asks
        assertFalse(LogitsRowStaging.movesRows(List.of(computed(4, false, true))));
    }

    @Test
    void aChunkOfNoTokensMustSampleFromAWholeRow() {
        assertThrows(IllegalArgumentException.class,
                () -> LogitsRowStaging.sampleRows(List.of(given(new float[VOCAB - 1])), VOCAB));
        assertThrows(IllegalArgumentException.class,
                () -> LogitsRowStaging.sampleRows(List.of(computed(0, true, false)), VOCAB));
        assertThrows(IllegalArgumentException.class, () -> LogitsRowStaging.sampleRows(List.of(
                new SeqChunk(new int[2], 0, new int[1], true, P, 1L, 0, null, null, false, new float[VOCAB])), VOCAB));
    }
}
