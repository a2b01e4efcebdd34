package io.routingreplay.tests.robust;

import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.schemas.RoutingResult;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The exactly-once and identity checks shared by the robustness tests. */
final class ResultChecks {

    /** Every expected rid exactly once, complete, and equal to what the engine alone produced. */
    static void assertExactlyOnceAndIdentical(Map<String, GenerationResult> expected, List<RoutingResult> results) {
        Map<String, Integer> counts = new HashMap<>();
        for (RoutingResult r : results) {
            counts.merge(r.getRid(), 1, Integer::sum);
        }
        List<String> duplicated = counts.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey)
                .sorted().toList();
        assertTrue(duplicated.isEmpty(), "rids answered more than once: " + duplicated);
        List<String> missing = expected.keySet().stream().filter(rid -> !counts.containsKey(rid)).sorted().toList();
        assertTrue(missing.isEmpty(), missing.size() + " rids never answered: "
                + missing.subList(0, Math.min(10, missing.size())));
        assertEquals(expected.size(), results.size(), "no result for a rid that was not sent");

        for (RoutingResult r : results) {
            GenerationResult g = expected.get(r.getRid());
            String rid = r.getRid();
            assertArrayEquals(g.promptTokenIds(), ints(r.getPromptTokenIds()), rid + ": prompt");
            assertArrayEquals(g.outputTokenIds(), ints(r.getOutputTokenIds()), rid + ": output tokens");
            assertArrayEquals(g.outputLogprobs(), floats(r.getOutputLogprobs()), rid + ": logprobs");
            assertEquals(g.finishReason().wire(), r.getFinishReason(), rid + ": finish reason");
            int complete = r.getPromptTokenIds().size() + r.getOutputTokenIds().size() - 1;
            assertEquals(complete, r.getNumTokens(), rid + ": num_tokens = prompt + output - 1");
            assertEquals(g.routing().numTokens(), r.getNumTokens(), rid + ": routed tokens");
            byte[] routing = bytes(r.getRoutingIds());
            if (!Arrays.equals(g.routing().ids(), routing)) {
                fail(rid + ": routing ids differ from the failure-free run");
            }
        }
    }

    static int[] ints(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    static float[] floats(List<Float> l) {
        float[] out = new float[l.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = l.get(i);
        }
        return out;
    }

    static byte[] bytes(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        byte[] out = new byte[d.remaining()];
        d.get(out);
        return out;
    }

    private ResultChecks() {
    }
}
