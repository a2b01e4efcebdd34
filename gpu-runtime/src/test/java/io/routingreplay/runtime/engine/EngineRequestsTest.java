package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.routing.RoutingSelection;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Request validation, stop conditions and the event stream's shape on the Mixtral fixture (vocabulary 1,000). */
class EngineRequestsTest {
    private static LLMEngine engine;

    @BeforeAll
    static void open() {
        engine = LLMEngine.create(EngineConfig.builder(Fixtures.model("mixtral-tiny")).threads(1)
                .maxNewTokensCap(64).build());
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    private static GenerationRequest req(String rid, int[] prompt, SamplingParams p) {
        return new GenerationRequest(rid, prompt, p);
    }

    @Test
    void rejectsBadRequestsWithAReasonAndKeepsServingOthers() {
        String[] reasons = {
                assertThrows(InvalidRequestException.class, () -> engine.add(req("a", new int[0], SamplingParams.greedy(4)))).getMessage(),
                assertThrows(InvalidRequestException.class, () -> engine.add(req("b", new int[]{5, 1000}, SamplingParams.greedy(4)))).getMessage(),
                assertThrows(InvalidRequestException.class, () -> engine.add(req("c", new int[]{-1}, SamplingParams.greedy(4)))).getMessage(),
                assertThrows(InvalidRequestException.class, () -> engine.add(req("d", new int[4096], SamplingParams.greedy(4)))).getMessage(),
                assertThrows(InvalidRequestException.class, () -> engine.add(req("e", new int[]{1}, SamplingParams.greedy(65)))).getMessage(),
                assertThrows(InvalidRequestException.class, () -> engine.add(req("", new int[]{1}, SamplingParams.greedy(4)))).getMessage(),
        };
        assertTrue(reasons[0].contains("empty"), reasons[0]);
        assertTrue(reasons[1].contains("1000") && reasons[1].contains("vocabulary"), reasons[1]);
        assertTrue(reasons[2].contains("-1"), reasons[2]);
        assertTrue(reasons[3].contains("4096") && reasons[3].contains("max_position_embeddings"), reasons[3]);
        assertTrue(reasons[4].contains("cap"), reasons[4]);
        assertTrue(reasons[5].contains("rid"), reasons[5]);
        assertFalse(engine.hasUnfinished(), "a rejected request leaves nothing behind");
        GenerationResult ok = engine.generate(List.of(req("ok", new int[]{3, 4, 5}, SamplingParams.greedy(3)))).get(0);
        assertEquals(3, ok.outputTokenIds().length);
    }

    /** The engine refuses a routing_start past the prompt itself, for callers that skip RequestValidator. */
    @Test
    void routingStartBeyondThePromptIsRejectedOnAdmission() {
        String reason = assertThrows(InvalidRequestException.class, () -> engine.add(new GenerationRequest("far",
                new int[]{1, 2, 3}, SamplingParams.greedy(2), RoutingSelection.from(4)))).getMessage();
        assertTrue(reason.contains("routing_start 4") && reason.contains("at most 3"), reason);
        assertFalse(engine.hasUnfinished());
        GenerationResult atEnd = engine.generate(List.of(new GenerationRequest("end", new int[]{1, 2, 3},
                SamplingParams.greedy(1), RoutingSelection.from(3)))).get(0);
        assertEquals(3, atEnd.routing().firstPosition());
        assertEquals(0, atEnd.routing().numTokens(), "one output: prompt positions only, none from position 3");
    }

    @Test
    void duplicateRidInFlightIsRejected() {
        engine.add(req("dup", new int[]{1, 2}, SamplingParams.greedy(2)));
        assertThrows(InvalidRequestException.class, () -> engine.add(req("dup", new int[]{1, 2}, SamplingParams.greedy(2))));
        while (engine.hasUnfinished()) {
            engine.step();
        }
    }

    @Test
    void stopTokenEndsGenerationAndIsKept() {
        GenerationResult free = engine.generate(List.of(req("free", new int[]{7, 8, 9}, SamplingParams.greedy(8)))).get(0);
        int stopAt = free.outputTokenIds()[2];
        SamplingParams p = new SamplingParams(8, 0f, 1f, 0, null, List.of(stopAt), true, false);
        GenerationResult stopped = engine.generate(List.of(req("stopped", new int[]{7, 8, 9}, p))).get(0);
        int firstIdx = 0;
        while (free.outputTokenIds()[firstIdx] != stopAt) {
            firstIdx++;
        }
        assertEquals(firstIdx + 1, stopped.outputTokenIds().length);
        assertEquals(FinishReason.STOP, stopped.finishReason());
        assertEquals(FinishReason.LENGTH, free.finishReason());
        assertEquals(3 + stopped.outputTokenIds().length - 1, stopped.routing().numTokens());
    }

    @Test
    void eventsAreContiguousPerRequestAndEndWithOneFinal() {
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            reqs.add(req("ev" + i, new int[]{1 + i, 2, 3, 4 + i}, SamplingParams.greedy(2 + i)));
        }
        reqs.forEach(engine::add);
        java.util.Map<String, Integer> next = new java.util.HashMap<>();
        java.util.Map<String, Integer> finals = new java.util.HashMap<>();
        while (engine.hasUnfinished()) {
            for (StepEvent e : engine.step()) {
                assertEquals(next.getOrDefault(e.rid(), 0), e.firstPosition(), e.rid());
                next.put(e.rid(), e.firstPosition() + e.numRoutedTokens());
                assertEquals(e.numRoutedTokens() * engine.routingLayout().bytesPerToken(), e.routingIds().length);
                if (e.isFinal()) {
                    finals.merge(e.rid(), 1, Integer::sum);
                }
            }
        }
        for (int i = 0; i < 6; i++) {
            assertEquals(1, finals.get("ev" + i));
            assertEquals(4 + (2 + i) - 1, next.get("ev" + i));
        }
    }
}
