package io.routingreplay.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Bit-for-bit equality of two results of the same request: tokens, logprobs, finish reason, routing ids, weights. */
public final class SameRecord {
    private SameRecord() {
    }

    public static void assertSameRecord(GenerationResult expected, GenerationResult actual) {
        assertEquals(expected.rid(), actual.rid());
        assertArrayEquals(expected.outputTokenIds(), actual.outputTokenIds(), expected.rid() + " tokens");
        assertArrayEquals(expected.outputLogprobs(), actual.outputLogprobs(), expected.rid() + " logprobs");
        assertEquals(expected.finishReason(), actual.finishReason());
        assertEquals(expected.routing().numTokens(), actual.routing().numTokens());
        assertArrayEquals(expected.routing().ids(), actual.routing().ids(), expected.rid() + " routing ids");
        assertArrayEquals(expected.routing().weights(), actual.routing().weights(), expected.rid() + " weights");
    }
}
