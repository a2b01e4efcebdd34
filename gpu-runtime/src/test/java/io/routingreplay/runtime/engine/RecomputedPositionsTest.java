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
 * The recomputed-positions count equals the extra tokens a K/V-starved run feeds over an unconstrained run of the
 * same requests (the tokens fed are counted independently, by the engine's prefill and decode counters), with the
 * prefix cache on and off; with it on, a preempted request's full blocks stay cached, so far fewer positions are
 * computed again, and every record still equals its unpreempted one bit for bit.
 */
class RecomputedPositionsTest {

    private record Run(EngineStats stats, List<GenerationResult> results) {
    }

    private static Run run(int kvTokens, boolean prefixCache, List<GenerationRequest> reqs) {
        EngineConfig.Builder b = EngineConfig.builder(Fixtures.model("qwen3-moe-tiny")).threads(2)
                .prefixCache(prefixCache).admission(AdmissionPolicy.EAGER) // eager: the starved runs must preempt
                .swapSpaceBytes(0); // no host copy: preempted work is recomputed (SwapSpaceTest has the copies)
        if (kvTokens > 0) {
            b.kvCacheTokens(kvTokens);
        }
        try (LLMEngine e = LLMEngine.create(b.build())) {
            List<GenerationResult> results = e.generate(reqs);
            assertEquals(0, e.blockManager().numUsed(), "every block released");
            return new Run(e.stats(), results);
        }
    }

    private static List<GenerationRequest> requests() {
        Random rnd = new Random(5);
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int[] prompt = new int[10 + rnd.nextInt(20)];
            for (int j = 0; j < prompt.length; j++) {
                prompt[j] = rnd.nextInt(151_000);
            }
            reqs.add(new GenerationRequest("r" + i, prompt, new SamplingParams(24, 0.8f, 1f, 0, 1L + i, List.of(),
                    true, true)));
        }
        return reqs;
    }

    private static long extraFed(Run squeezed, Run free) {
        return squeezed.stats().prefillTokens() + squeezed.stats().decodeTokens() - free.stats().prefillTokens()
                - free.stats().decodeTokens();
    }

    @Test
    void recomputedPositionsAreTheExtraTokensFedUnderKvPressure() {
        List<GenerationRequest> reqs = requests();
        for (boolean cache : new boolean[]{false, true}) {
            Run free = run(0, cache, reqs), squeezed = run(96, cache, reqs);
            assertEquals(0, free.stats().recomputedPositions());
            assertTrue(squeezed.stats().preemptions() > 0, "the test must actually preempt");
            long extra = extraFed(squeezed, free);
            assertTrue(extra > 0, "cache " + cache);
            assertEquals(extra, squeezed.stats().recomputedPositions(), "cache " + cache);
        }
    }

    @Test
    void preemptedRequestsResumeFromTheCacheWithTheirUnpreemptedRecords() {
        List<GenerationRequest> reqs = requests();
        Run free = run(0, false, reqs);
        Run squeezedCold = run(96, false, reqs);
        Run squeezedCached = run(96, true, reqs);
        for (int i = 0; i < reqs.size(); i++) {
            assertSameRecord(free.results().get(i), squeezedCold.results().get(i));
            assertSameRecord(free.results().get(i), squeezedCached.results().get(i));
        }
        assertTrue(squeezedCached.stats().preemptions() > 0, "the test must actually preempt");
        assertTrue(squeezedCached.stats().prefixCacheHits() > 0, "re-admissions are served from the cache");
        // Each re-admission recomputes at most its last partial block (under BLOCK positions) unless evicted.
        long recomputedCached = squeezedCached.stats().recomputedPositions();
        long recomputedCold = squeezedCold.stats().recomputedPositions();
        assertTrue(recomputedCached * 2 < recomputedCold, "with the cache " + recomputedCached
                + " positions recomputed, without " + recomputedCold);
    }
}
