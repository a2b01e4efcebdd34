package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.routing.ForcedRouting;
import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingRecord;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.testing.Fixtures;
import io.routingreplay.runtime.testing.RunnableFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.routingreplay.runtime.engine.SameRecord.assertSameRecord;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Routing replay on the CPU backend: forcing a record's own ids reproduces it bit for bit on every fixture the engine
 * runs; forced ids that differ from the free router's are used (weighed by the live router) and counted; a forced
 * request's blocks are never served to a freely routed one; a partial rollout resumed on its recorded routing
 * equals the uninterrupted run.
 */
class ForcedRoutingTest {

    static List<String> fixtures() {
        return RunnableFixtures.names();
    }

    private static EngineConfig.Builder config(String fixture) {
        return EngineConfig.builder(Fixtures.model(fixture)).threads(2);
    }

    /** The fixture's greedy cases plus one temperature-sampled request per case (top-p, top-k, fixed seed). */
    private static List<GenerationRequest> requests(String fixture) {
        List<GenerationRequest> reqs = new ArrayList<>(Fixtures.greedyRequests(fixture));
        List<Fixtures.Case> cases = Fixtures.cases(fixture);
        for (int i = 0; i < cases.size(); i++) {
            reqs.add(new GenerationRequest("sampled-" + i, cases.get(i).promptIds(),
                    new SamplingParams(6, 0.9f, 0.95f, 40, 900L + i, List.of(), true, true)));
        }
        return reqs;
    }

    static GenerationRequest forced(GenerationRequest r, String rid, ForcedRouting f) {
        return new GenerationRequest(rid, r.promptTokenIds(), r.params(), r.routing(), f, false);
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void aRecordRerunWithItsOwnRoutingForcedIsIdentical(String fixture) {
        List<GenerationRequest> reqs = requests(fixture);
        try (LLMEngine e = LLMEngine.create(config(fixture).build())) {
            List<GenerationResult> free = e.generate(reqs);
            List<GenerationRequest> replays = new ArrayList<>();
            for (int i = 0; i < reqs.size(); i++) {
                GenerationRequest r = reqs.get(i);
                // every prompt position forced (m = prompt length): the most a request may force
                replays.add(forced(r, r.rid(), ForcedRouting.of(free.get(i).routing(), r.promptTokenIds().length)));
            }
            List<GenerationResult> replayed = e.generate(replays);
            for (int i = 0; i < reqs.size(); i++) {
                GenerationResult got = replayed.get(i);
                assertSameRecord(free.get(i), got);
                ReplayReport report = got.replay();
                int m = reqs.get(i).promptTokenIds().length;
                assertEquals(m, report.forcedPositions());
                assertArrayEquals(new int[e.routingLayout().numMoeLayers()], report.forcedMismatches(),
                        fixture + " " + got.rid() + ": the free router picks the forced ids everywhere");
                assertEquals((long) m * e.routingLayout().idsPerToken(), report.forcedCells());
                assertEquals(report.forcedCells(), report.forcedCellsReproduced());
            }
        }
    }

    /** An id the record does not hold at (position, layer): the free router did not pick it there. */
    static int otherExpert(RoutingRecord rec, int pos, int layer) {
        RoutingLayout layout = rec.layout();
        for (int e = 0; ; e++) {
            boolean taken = false;
            for (int k = 0; k < layout.topK(); k++) {
                taken |= rec.id(pos, layer, k) == e;
            }
            if (!taken) {
                return e;
            }
        }
    }

    @Test
    void forcedIdsThatDifferFromTheFreeRoutersAreUsedWeighedAndCounted() {
        String fixture = "qwen3-moe-tiny";
        GenerationRequest r = Fixtures.greedyRequests(fixture).get(0);
        try (LLMEngine e = LLMEngine.create(config(fixture).prefixCache(false).build())) {
            GenerationResult free = e.generate(List.of(r)).get(0);
            RoutingLayout layout = e.routingLayout();
            // MoE layer 0: its output at the position feeds every later layer's attention (the last layer's would not)
            int pos = 3, layer = 0, k = layout.topK() - 1;
            ForcedRouting own = ForcedRouting.of(free.routing(), 5);
            int[] ids = own.ids().clone();
            int cell = (pos * layout.numMoeLayers() + layer) * layout.topK() + k;
            ids[cell] = otherExpert(free.routing(), pos, layer);
            GenerationResult got = e.generate(List.of(forced(r, "altered", new ForcedRouting(5, ids)))).get(0);

            assertEquals(ids[cell], got.routing().id(pos, layer, k), "the record holds the forced id");
            int[] expectedMismatches = new int[layout.numMoeLayers()];
            expectedMismatches[layer] = 1;
            assertArrayEquals(expectedMismatches, got.replay().forcedMismatches());
            assertEquals(got.replay().forcedCells() - 1, got.replay().forcedCellsReproduced());
            // The forced expert's weight is the live router's score for it, not the replaced expert's.
            assertNotEquals(free.routing().weight(pos, layer, k), got.routing().weight(pos, layer, k));
            // Positions before the altered one are unchanged, bit for bit; the altered one changes what follows.
            int before = pos * layout.bytesPerToken();
            assertArrayEquals(Arrays.copyOf(free.routing().ids(), before), Arrays.copyOf(got.routing().ids(), before));
            assertArrayEquals(Arrays.copyOf(free.routing().weights(), pos * layout.idsPerToken()),
                    Arrays.copyOf(got.routing().weights(), pos * layout.idsPerToken()));
            assertFalse(Arrays.equals(free.outputLogprobs(), got.outputLogprobs()),
                    "another expert at one position changes the logprobs after it");
        }
    }

    @Test
    void aForcedRequestsBlocksAreNeverServedToAFreeOne() {
        String fixture = "qwen3-moe-tiny";
        int[] prompt = new java.util.Random(5).ints(45, 0, 151_000).toArray();   // two full blocks of 16 and a part
        GenerationRequest r = new GenerationRequest("free", prompt, SamplingParams.greedy(4));
        GenerationResult cold;
        try (LLMEngine e = LLMEngine.create(config(fixture).prefixCache(false).build())) {
            cold = e.generate(List.of(r)).get(0);
        }
        RoutingLayout layout = cold.routing().layout();
        int m = r.promptTokenIds().length;
        int[] ids = ForcedRouting.of(cold.routing(), m).ids().clone();
        ids[0] = otherExpert(cold.routing(), 0, 0);   // position 0: every block after it differs
        try (LLMEngine e = LLMEngine.create(config(fixture).build())) {
            e.generate(List.of(forced(r, "forced", new ForcedRouting(m, ids))));
            GenerationResult free = e.generate(List.of(r)).get(0);
            assertSameRecord(cold, free);
            assertEquals(0, e.stats().prefixCacheHits(), "no forced block matches a free prompt");
            assertTrue(layout.numMoeLayers() > 0);
        }
    }

    @Test
    void aPartialRolloutResumedOnItsRecordedRoutingEqualsTheUninterruptedRun() {
        String fixture = "qwen3-moe-tiny";
        GenerationRequest whole = Fixtures.greedyRequests(fixture).get(1);
        int n = whole.params().maxNewTokens(), half = n / 2;
        assertTrue(half >= 1 && half < n);
        try (LLMEngine e = LLMEngine.create(config(fixture).build())) {
            GenerationResult uninterrupted = e.generate(List.of(whole)).get(0);
            int[] prompt = whole.promptTokenIds();
            int[] resumedPrompt = Arrays.copyOf(prompt, prompt.length + half);
            System.arraycopy(uninterrupted.outputTokenIds(), 0, resumedPrompt, prompt.length, half);
            GenerationRequest resume = new GenerationRequest("resumed", resumedPrompt,
                    new SamplingParams(n - half, 0f, 1f, 0, null, List.of(), true, true), null,
                    ForcedRouting.of(uninterrupted.routing(), resumedPrompt.length), false);
            GenerationResult resumed = e.generate(List.of(resume)).get(0);
            assertArrayEquals(Arrays.copyOfRange(uninterrupted.outputTokenIds(), half, n), resumed.outputTokenIds());
            assertArrayEquals(Arrays.copyOfRange(uninterrupted.outputLogprobs(), half, n), resumed.outputLogprobs());
            assertEquals(uninterrupted.routing().numTokens(), resumed.routing().numTokens());
            assertArrayEquals(uninterrupted.routing().ids(), resumed.routing().ids());
            assertArrayEquals(uninterrupted.routing().weights(), resumed.routing().weights());
        }
    }

    /** The CPU backend as a backend that does not honour replay inputs (as CUDA before issue 18, or a future backend): only that answer changes. */
    private static final class NoReplayInputs implements io.routingreplay.runtime.backend.ModelRunner {
        private final io.routingreplay.runtime.backend.ModelRunner cpu;

        NoReplayInputs(io.routingreplay.runtime.backend.ModelRunner cpu) {
            this.cpu = cpu;
        }

        @Override
        public io.routingreplay.runtime.config.ModelConfig config() {
            return cpu.config();
        }

        @Override
        public int kvBlockSize() {
            return cpu.kvBlockSize();
        }

        @Override
        public int numKvBlocks() {
            return cpu.numKvBlocks();
        }

        @Override
        public io.routingreplay.runtime.backend.StepOutput forward(io.routingreplay.runtime.backend.ForwardBatch b) {
            return cpu.forward(b);
        }

        @Override
        public void close() {
            cpu.close();
        }
    }

    @Test
    void aBackendWithoutReplayInputsRejectsThemRatherThanIgnoringThem() {
        String fixture = "qwen3-moe-tiny";
        EngineConfig cfg = config(fixture).build();
        GenerationRequest r = Fixtures.greedyRequests(fixture).get(0);
        try (LLMEngine e = LLMEngine.create(cfg,
                new NoReplayInputs(io.routingreplay.runtime.backend.cpu.CpuModelRunner.load(cfg)))) {
            GenerationResult free = e.generate(List.of(r)).get(0);
            InvalidRequestException forced = org.junit.jupiter.api.Assertions.assertThrows(
                    InvalidRequestException.class, () -> e.add(forced(r, "f", ForcedRouting.of(free.routing(), 2))));
            assertTrue(forced.getMessage().startsWith("forced_routing is not supported on the cpu backend"),
                    forced.getMessage());
            InvalidRequestException scored = org.junit.jupiter.api.Assertions.assertThrows(
                    InvalidRequestException.class, () -> e.add(new GenerationRequest("s", r.promptTokenIds(),
                            r.params(), null, null, true)));
            assertTrue(scored.getMessage().startsWith("prompt_logprobs is not supported"), scored.getMessage());
            assertFalse(e.hasUnfinished());
        }
    }
}
