package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.routing.ForcedRouting;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Scoring ({@code max_new_tokens} 0 + {@code prompt_logprobs}): the log-probability of every prompt token given its
 * prefix equals, bit for bit, the one the engine reported when it sampled that token (output_logprobs are
 * log-softmax of the raw logits, whatever the temperature), freely routed or with the sampled record forced, in one
 * chunk or many.
 */
class ScoringTest {
    private static final String MODEL = "qwen3-moe-tiny";

    private static EngineConfig.Builder config() {
        return EngineConfig.builder(Fixtures.model(MODEL)).threads(2);
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static GenerationRequest score(String rid, int[] tokens, ForcedRouting forced) {
        return new GenerationRequest(rid, tokens, new SamplingParams(0, 1f, 1f, 0, null, List.of(), false, true), null,
                forced, true);
    }

    /** A temperature-sampled request (top-p, top-k, seed): its logprobs are still those of the raw logits. */
    private static GenerationRequest sampled() {
        int[] prompt = new Random(3).ints(37, 0, 151_000).toArray();
        return new GenerationRequest("sampled", prompt,
                new SamplingParams(12, 1.3f, 0.9f, 50, 42L, List.of(), true, true));
    }

    private static void assertScoresTheSample(GenerationResult sample, GenerationResult scored) {
        int p = sample.promptTokenIds().length, o = sample.outputTokenIds().length;
        float[] lp = scored.replay().promptLogprobs();
        assertEquals(p + o - 1, lp.length, "one logprob per token after the first");
        assertArrayEquals(sample.outputLogprobs(), Arrays.copyOfRange(lp, p - 1, p + o - 1),
                scored.rid() + ": the scored output tokens carry the sampled logprobs, bit for bit");
        assertEquals(0, scored.outputTokenIds().length);
        assertEquals(FinishReason.LENGTH, scored.finishReason());
        assertEquals(sample.routing().numTokens(), scored.routing().numTokens(), "prompt + output − 1 positions");
        assertArrayEquals(sample.routing().ids(), scored.routing().ids());
        assertArrayEquals(sample.routing().weights(), scored.routing().weights());
        for (float v : lp) {
            assertTrue(v <= 0f && !Float.isNaN(v));
        }
    }

    @Test
    void scoringPromptPlusOutputReturnsTheLogprobsTheSamplerReported() {
        try (LLMEngine e = LLMEngine.create(config().build())) {
            GenerationResult sample = e.generate(List.of(sampled())).get(0);
            int[] all = concat(sample.promptTokenIds(), sample.outputTokenIds());
            GenerationResult free = e.generate(List.of(score("free", all, null))).get(0);
            assertScoresTheSample(sample, free);
            GenerationResult forced = e.generate(List.of(score("forced", all,
                    ForcedRouting.of(sample.routing(), sample.routing().numTokens())))).get(0);
            assertScoresTheSample(sample, forced);
            assertArrayEquals(new int[e.routingLayout().numMoeLayers()], forced.replay().forcedMismatches());
        }
    }

    @Test
    void scoringInSmallChunksBesideOtherRequestsGivesTheSameBits() {
        GenerationResult sample;
        try (LLMEngine e = LLMEngine.create(config().build())) {
            sample = e.generate(List.of(sampled())).get(0);
        }
        int[] all = concat(sample.promptTokenIds(), sample.outputTokenIds());
        try (LLMEngine e = LLMEngine.create(config().maxBatchTokens(7).maxNumSeqs(3).build())) {
            List<GenerationResult> got = e.generate(List.of(sampled(), score("chunked", all, null),
                    score("chunked-forced", all, ForcedRouting.of(sample.routing(), 20))));
            assertScoresTheSample(sample, got.get(1));
            assertScoresTheSample(sample, got.get(2));
        }
    }

    @Test
    void promptLogprobsWhileGeneratingEqualTheScoredPrompt() {
        GenerationRequest s = sampled();
        try (LLMEngine e = LLMEngine.create(config().build())) {
            GenerationResult scored = e.generate(List.of(score("score", s.promptTokenIds(), null))).get(0);
            GenerationResult both = e.generate(List.of(new GenerationRequest("both", s.promptTokenIds(), s.params(),
                    null, null, true))).get(0);
            GenerationResult plain = e.generate(List.of(s)).get(0);
            assertArrayEquals(scored.replay().promptLogprobs(), both.replay().promptLogprobs());
            assertArrayEquals(plain.outputTokenIds(), both.outputTokenIds());
            assertArrayEquals(plain.outputLogprobs(), both.outputLogprobs());
            assertEquals(null, plain.replay(), "no report without forced_routing or prompt_logprobs");
        }
    }

    @Test
    void scoringNeedsPromptLogprobsAndTwoTokens() {
        try (LLMEngine e = LLMEngine.create(config().build())) {
            GenerationRequest noLogprobs = new GenerationRequest("a", new int[]{1, 2, 3},
                    new SamplingParams(0, 1f, 1f, 0, null, List.of(), false, false));
            assertTrue(assertThrows(InvalidRequestException.class, () -> e.add(noLogprobs)).getMessage()
                    .contains("0 only with prompt_logprobs"));
            assertTrue(assertThrows(InvalidRequestException.class, () -> e.add(score("b", new int[]{1}, null)))
                    .getMessage().contains("at least 2 tokens"));
        }
    }

    /**
     * Under K/V pressure requests are preempted and computed again: a forced, scored request's prompt logprobs,
     * outputs and forced-routing report equal those of the same request run without pressure (the recompute writes
     * each position's values again instead of adding to them).
     */
    @Test
    void preemptedForcedAndScoredRequestsKeepTheirResults() {
        Random rnd = new Random(5);
        List<GenerationRequest> free = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            free.add(new GenerationRequest("r" + i, rnd.ints(10 + rnd.nextInt(20), 0, 151_000).toArray(),
                    new SamplingParams(24, 0.8f, 1f, 0, 1L + i, List.of(), true, true)));
        }
        List<GenerationRequest> replays = new java.util.ArrayList<>();
        try (LLMEngine e = LLMEngine.create(config().build())) {
            List<GenerationResult> first = e.generate(free);
            for (int i = 0; i < free.size(); i++) {
                GenerationRequest r = free.get(i);
                // the record's own ids: the mismatch counts must stay 0 through recomputes
                replays.add(new GenerationRequest(r.rid(), r.promptTokenIds(), r.params(), null,
                        ForcedRouting.of(first.get(i).routing(), r.promptTokenIds().length), true));
            }
        }
        List<GenerationResult> calm;
        try (LLMEngine e = LLMEngine.create(config().prefixCache(false).build())) {
            calm = e.generate(replays);
        }
        // preempted work recomputed (no swap space), then copied back from host memory (scores and counts kept)
        for (long swapBytes : new long[]{0, 64L << 20}) {
            checkSqueezedReplays(replays, calm, swapBytes);
        }
    }

    private static void checkSqueezedReplays(List<GenerationRequest> replays, List<GenerationResult> calm,
                                             long swapBytes) {
        List<GenerationResult> squeezed;
        long preemptions;
        try (LLMEngine e = LLMEngine.create(config().prefixCache(false).kvCacheTokens(96).swapSpaceBytes(swapBytes)
                .admission(io.routingreplay.runtime.scheduler.AdmissionPolicy.EAGER).build())) {
            squeezed = e.generate(replays);
            preemptions = e.stats().preemptions();
            assertEquals(swapBytes > 0, e.stats().swappedInBlocks() > 0, "swap space " + swapBytes);
        }
        assertTrue(preemptions > 0, "the test must actually preempt");
        for (int i = 0; i < replays.size(); i++) {
            GenerationResult a = calm.get(i), b = squeezed.get(i);
            assertArrayEquals(a.outputTokenIds(), b.outputTokenIds());
            assertArrayEquals(a.outputLogprobs(), b.outputLogprobs());
            assertArrayEquals(a.routing().ids(), b.routing().ids());
            assertArrayEquals(a.replay().promptLogprobs(), b.replay().promptLogprobs(), a.rid());
            assertArrayEquals(a.replay().forcedMismatches(), b.replay().forcedMismatches(), a.rid());
            assertArrayEquals(new int[a.replay().forcedMismatches().length], b.replay().forcedMismatches(), a.rid());
            assertEquals(a.replay().forcedCells(), b.replay().forcedCellsReproduced(), a.rid());
        }
    }
}
