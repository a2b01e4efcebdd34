package io.routingreplay.runtime.testing;

import io.routingreplay.runtime.engine.GenerationResult;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conformance rule against transformers' float32 outputs, for results of {@link Fixtures#greedyRequests}:
 * exact greedy tokens, logprobs within 1e-3, identical top-k ids (and weights within 1e-3) wherever the reference
 * margin is at least 1e-4 (below that float32 may legitimately swap the boundary expert).
 */
public final class Conformance {
    private Conformance() {
    }

    public static void assertConforms(String fixture, List<GenerationResult> results) {
        List<Fixtures.Case> cases = Fixtures.cases(fixture);
        int compared = 0;
        for (int i = 0; i < cases.size(); i++) {
            Fixtures.Case c = cases.get(i);
            GenerationResult r = results.get(i);
            assertArrayEquals(c.outputIds(), r.outputTokenIds(), fixture + " case " + i + " tokens");
            for (int j = 0; j < c.outputLogprobs().length; j++) {
                assertEquals(c.outputLogprobs()[j], r.outputLogprobs()[j], 1e-3, fixture + " case " + i + " logprob " + j);
            }
            assertEquals(c.topkIds().length, r.routing().numTokens(), "routed tokens = prompt + output - 1");
            for (int t = 0; t < c.topkIds().length; t++) {
                for (int l = 0; l < c.topkIds()[t].length; l++) {
                    if (c.topkMargin()[t][l] < 1e-4) {
                        continue;
                    }
                    for (int k = 0; k < c.topkIds()[t][l].length; k++) {
                        assertEquals(c.topkIds()[t][l][k], r.routing().id(t, l, k),
                                fixture + " case " + i + " token " + t + " layer " + l + " k " + k);
                        assertEquals(c.topkWeights()[t][l][k], r.routing().weight(t, l, k), 1e-3);
                    }
                    compared++;
                }
            }
        }
        assertTrue(compared > 0);
    }
}
