package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.scheduler.AdmissionPolicy;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.routingreplay.runtime.engine.SameRecord.assertSameRecord;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Admission under K/V pressure: {@code reserve} starts a request only when its prompt + max_new_tokens fit beside
 * what the running ones may still grow into, so nothing is preempted or recomputed; {@code eager} starts more at once
 * and preempts. Records are those of an unconstrained run either way (batch invariance).
 */
class AdmissionPolicyTest {
    private static final String MODEL = "qwen3-moe-tiny";

    private static EngineConfig.Builder config(AdmissionPolicy admission, int kvTokens) {
        EngineConfig.Builder b = EngineConfig.builder(Fixtures.model(MODEL)).threads(2).admission(admission);
        return kvTokens > 0 ? b.kvCacheTokens(kvTokens) : b;
    }

    private static List<GenerationRequest> requests(int n, int promptLen, int maxNew) {
        Random rnd = new Random(77);
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] prompt = new int[promptLen];
            for (int j = 0; j < prompt.length; j++) {
                prompt[j] = rnd.nextInt(151_000);
            }
            reqs.add(new GenerationRequest("r" + i, prompt,
                    new SamplingParams(maxNew, 0.8f, 1f, 0, 10L + i, List.of(), true, true)));
        }
        return reqs;
    }

    /** The most sequences any step ran, seen through the engine's step observer. */
    private static int[] run(LLMEngine e, List<GenerationRequest> reqs, List<GenerationResult> into) {
        int[] widest = {0};
        e.observeSteps((batch, out, nanos) -> widest[0] = Math.max(widest[0], batch.chunks().size()));
        into.addAll(e.generate(reqs));
        return widest;
    }

    @Test
    void reserveWaitsUntilARequestsWholeLengthFitsBesideTheRunningOnes() {
        // 6 blocks of 16; each request may feed 20 + 40 - 1 = 59 positions = 4 blocks: two prompts (2 blocks each)
        // fit at once, two whole lengths do not.
        List<GenerationRequest> reqs = requests(2, 20, 40);
        List<GenerationResult> eagerOut = new ArrayList<>(), reserveOut = new ArrayList<>();
        try (LLMEngine eager = LLMEngine.create(config(AdmissionPolicy.EAGER, 96).build())) {
            assertEquals(2, run(eager, reqs, eagerOut)[0], "eager starts both prompts together");
            assertTrue(eager.stats().preemptions() > 0, "and must then preempt one");
        }
        try (LLMEngine reserve = LLMEngine.create(config(AdmissionPolicy.RESERVE, 96).build())) {
            assertEquals(1, run(reserve, reqs, reserveOut)[0], "reserve runs them one after the other");
            assertEquals(0, reserve.stats().preemptions());
            assertEquals(0, reserve.stats().recomputedPositions());
        }
        for (int i = 0; i < reqs.size(); i++) {
            assertSameRecord(eagerOut.get(i), reserveOut.get(i));
        }
    }

    @Test
    void reserveNeverPreemptsAndKeepsEveryRecord() {
        // 8 requests of up to 24 + 16 - 1 = 39 positions (3 blocks) in 9 blocks: three at a time under reserve.
        List<GenerationRequest> reqs = requests(8, 24, 16);
        List<GenerationResult> free = new ArrayList<>(), squeezed = new ArrayList<>();
        try (LLMEngine e = LLMEngine.create(config(AdmissionPolicy.EAGER, 0).build())) {
            free.addAll(e.generate(reqs));
        }
        try (LLMEngine e = LLMEngine.create(config(AdmissionPolicy.RESERVE, 144).build())) {
            int widest = run(e, reqs, squeezed)[0];
            assertEquals(3, widest, "as many as the reservation allows, no more");
            assertEquals(0, e.stats().preemptions());
            assertEquals(0, e.stats().recomputedPositions());
            assertEquals(0, e.blockManager().numUsed(), "every block released");
        }
        for (int i = 0; i < reqs.size(); i++) {
            assertSameRecord(free.get(i), squeezed.get(i));
        }
    }
}
