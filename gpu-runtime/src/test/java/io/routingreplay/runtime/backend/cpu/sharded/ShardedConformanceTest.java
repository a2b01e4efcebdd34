package io.routingreplay.runtime.backend.cpu.sharded;

import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.parallel.ParallelLayout;
import io.routingreplay.runtime.testing.Conformance;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every CPU fixture split over in-process ranks passes the same conformance rule against transformers as the
 * unsharded backend, under every layout of {@link ShardedLayouts} its shape accepts (at least two per fixture, one
 * of them expert-parallel). Also prints, per layout, how many of the fixture's records differ in any bit from the
 * unsharded run (the summation order over ranks differs from one rank's; docs/multi-gpu.md has the numbers).
 */
class ShardedConformanceTest {

    @ParameterizedTest
    @MethodSource("io.routingreplay.runtime.testing.Fixtures#cpu")
    void everyLayoutReproducesTransformers(String fixture) {
        List<ParallelLayout> layouts = ShardedLayouts.accepted(fixture);
        assertTrue(layouts.size() >= 2, fixture + " runs under at least two layouts, got " + layouts);
        assertTrue(layouts.stream().anyMatch(l -> l.expertParallel() > 1), fixture + " runs expert-parallel");
        List<GenerationResult> single;
        try (LLMEngine engine = LLMEngine.create(config(fixture, ParallelLayout.SINGLE))) {
            single = engine.generate(Fixtures.greedyRequests(fixture));
        }
        for (ParallelLayout layout : layouts) {
            EngineConfig cfg = config(fixture, layout);
            List<GenerationResult> sharded;
            try (ShardedCpuModelRunner runner = assertInstanceOf(ShardedCpuModelRunner.class,
                    io.routingreplay.runtime.backend.ModelRunners.create(cfg));
                 LLMEngine engine = LLMEngine.create(cfg, runner)) {
                assertEquals(layout, runner.layout());
                sharded = engine.generate(Fixtures.greedyRequests(fixture));
            }
            Conformance.assertConforms(fixture, sharded);
            System.out.println("[sharded bits] " + fixture + " " + layout + ": " + differing(single, sharded));
        }
    }

    private static EngineConfig config(String fixture, ParallelLayout layout) {
        return EngineConfig.builder(Fixtures.model(fixture)).threads(2).prefixCache(false)
                .tensorParallel(layout.tensorParallel()).expertParallel(layout.expertParallel()).build();
    }

    /** How the layout's records differ from the unsharded ones: records with any bit changed, greedy tokens and
     *  routed ids changed, and the largest logprob difference. */
    private static String differing(List<GenerationResult> a, List<GenerationResult> b) {
        int records = 0, tokens = 0, ids = 0;
        double maxLogprob = 0;
        for (int i = 0; i < a.size(); i++) {
            GenerationResult x = a.get(i), y = b.get(i);
            boolean tok = !Arrays.equals(x.outputTokenIds(), y.outputTokenIds());
            boolean id = !Arrays.equals(x.routing().ids(), y.routing().ids());
            if (tok || id || !Arrays.equals(x.outputLogprobs(), y.outputLogprobs())
                    || !Arrays.equals(x.routing().weights(), y.routing().weights())) {
                records++;
            }
            tokens += tok ? 1 : 0;
            ids += id ? 1 : 0;
            for (int j = 0; j < Math.min(x.outputLogprobs().length, y.outputLogprobs().length); j++) {
                maxLogprob = Math.max(maxLogprob, Math.abs(x.outputLogprobs()[j] - y.outputLogprobs()[j]));
            }
        }
        return records + "/" + a.size() + " records differ from TP=1 in some bit (tokens in " + tokens
                + ", routed ids in " + ids + ", max |logprob diff| " + maxLogprob + ")";
    }
}
