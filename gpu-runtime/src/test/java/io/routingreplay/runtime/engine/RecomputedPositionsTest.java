package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The recomputed-positions count equals the extra tokens a K/V-starved run feeds over an unconstrained run of the
 *  same requests (the tokens fed are counted independently, by the engine's prefill and decode counters). */
class RecomputedPositionsTest {

    private static EngineStats run(int kvTokens, List<GenerationRequest> reqs) {
        EngineConfig.Builder b = EngineConfig.builder(Fixtures.model("qwen3-moe-tiny")).threads(2);
        if (kvTokens > 0) {
            b.kvCacheTokens(kvTokens);
        }
        try (LLMEngine e = LLMEngine.create(b.build())) {
            e.generate(reqs);
            return e.stats();
        }
    }

    @Test
    void recomputedPositionsAreTheExtraTokensFedUnderKvPressure() {
        Random rnd = new Random(5);
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int[] prompt = new int[10 + rnd.nextInt(20)];
            for (int j = 0; j < prompt.length; j++) {
                prompt[j] = rnd.nextInt(151_000);
            }
            reqs.add(new GenerationRequest("r" + i, prompt, new SamplingParams(12, 0f, 1f, 0, 1L, List.of(), true, true)));
        }
        EngineStats free = run(0, reqs), squeezed = run(64, reqs);
        assertEquals(0, free.recomputedPositions());
        assertTrue(squeezed.preemptions() > 0, "the test must actually preempt");
        long extra = squeezed.prefillTokens() + squeezed.decodeTokens() - free.prefillTokens() - free.decodeTokens();
        assertTrue(extra > 0);
        assertEquals(extra, squeezed.recomputedPositions());
    }
}
