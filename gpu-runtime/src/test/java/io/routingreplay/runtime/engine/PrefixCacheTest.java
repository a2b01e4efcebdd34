package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.ForwardingModelRunner;
import io.routingreplay.runtime.backend.ModelRunner;
import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.backend.StepOutput;
import io.routingreplay.runtime.backend.cpu.CpuModelRunner;
import io.routingreplay.runtime.routing.ForcedRouting;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.scheduler.AdmissionPolicy;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.routingreplay.runtime.engine.SameRecord.assertSameRecord;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A record served partly from the prefix cache equals the record computed cold (prefix cache off, request alone),
 * bit for bit: tokens, logprobs, routing ids and weights, including the routing of the cached positions. A prompt
 * that ends on a block boundary is served whole once an earlier request with that prompt kept its last position's
 * logits: its first token is sampled from the kept row and no prompt position is computed again. Every engine here
 * ends with every block's reference count back at zero. On every CPU fixture (every architecture).
 */
@ParameterizedClass
@MethodSource("io.routingreplay.runtime.testing.Fixtures#cpu")
class PrefixCacheTest {
    @Parameter
    String model;
    private static final int BLOCK = 16; // the engine's default kvBlockSize

    private EngineConfig.Builder config() {
        return EngineConfig.builder(Fixtures.model(model)).threads(2);
    }

    private int[] randomTokens(Random rnd, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rnd.nextInt(Math.min(151_000, Fixtures.vocabSize(model)));
        }
        return t;
    }

    private static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) {
            n += p.length;
        }
        int[] out = new int[n];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private static SamplingParams sampled(int maxNew, long seed, boolean weights) {
        return new SamplingParams(maxNew, 0.9f, 0.95f, 40, seed, List.of(), true, weights);
    }

    /** Each request alone in an engine without the prefix cache: the reference every cached run must equal. */
    private List<GenerationResult> cold(List<GenerationRequest> reqs) {
        List<GenerationResult> out = new ArrayList<>();
        try (LLMEngine e = LLMEngine.create(config().prefixCache(false).build())) {
            for (GenerationRequest r : reqs) {
                out.add(e.generate(List.of(r)).get(0));
            }
            assertEquals(0, e.stats().prefixCacheHits());
        }
        return out;
    }

    private static void assertAllReleased(LLMEngine e) {
        assertEquals(0, e.blockManager().numUsed(), "every block's reference count is back at zero");
        for (int b = 0; b < e.blockManager().numBlocks(); b++) {
            assertEquals(0, e.blockManager().refCount(b), "block " + b);
        }
    }

    /**
     * GRPO: n samples of one prompt (different seeds, with and without weights, greedy and with other temperature /
     * top-p / top-k: a kept logits row must serve each with its own sampling); the first warms the cache.
     */
    private static List<GenerationRequest> grpoGroup(int[] prompt, int n) {
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            SamplingParams p = switch (i % 3) {
                case 0 -> sampled(6 + i % 3, 500L + i, i % 2 == 0);
                case 1 -> new SamplingParams(7, 0f, 1f, 0, 500L + i, List.of(), true, i % 2 == 0);
                default -> new SamplingParams(8, 1.2f, 1f, 0, 500L + i, List.of(), true, i % 2 == 0);
            };
            reqs.add(new GenerationRequest("g" + i, prompt, p));
        }
        return reqs;
    }

    /**
     * Prompt positions a later sample of a group is served: every full block, including the one holding its last
     * position when the prompt ends on a block boundary (its first token then comes from the kept logits row).
     */
    private static int servedPerLaterSample(int promptLen) {
        return promptLen % BLOCK == 0 ? promptLen : (promptLen - 1) / BLOCK * BLOCK;
    }

    /** Counts the positions the engine feeds through the model (every chunk of every step). */
    private static long[] countFedPositions(LLMEngine e) {
        long[] fed = new long[1];
        e.observeSteps((batch, out, nanos) -> fed[0] += batch.numTokens());
        return fed;
    }

    /** Positions a group computes: the first sample's prompt, the later ones' unshared rest, all outputs but the last. */
    private static long expectedFed(int promptLen, List<GenerationResult> results) {
        long fed = promptLen + (long) (results.size() - 1) * (promptLen - servedPerLaterSample(promptLen));
        for (GenerationResult r : results) {
            fed += r.outputTokenIds().length - 1;
        }
        return fed;
    }

    private void grpoSamplesEqualTheirColdRecords(EngineConfig.Builder cfg, int promptLen) {
        int[] prompt = randomTokens(new Random(11 + promptLen), promptLen);
        List<GenerationRequest> reqs = grpoGroup(prompt, 6);
        List<GenerationResult> expected = cold(reqs);
        try (LLMEngine e = LLMEngine.create(cfg.build())) {
            long[] fed = countFedPositions(e);
            List<GenerationResult> got = new ArrayList<>(e.generate(reqs.subList(0, 1)));
            got.addAll(e.generate(reqs.subList(1, reqs.size()))); // batched, each sharing the first's blocks
            for (int i = 0; i < reqs.size(); i++) {
                assertSameRecord(expected.get(i), got.get(i));
            }
            int shared = servedPerLaterSample(promptLen);
            assertTrue(shared > 0, "the prompt spans full blocks");
            assertEquals(5L * shared, e.stats().prefixCacheHits());
            assertEquals(6L * promptLen - 5L * shared, e.stats().prefixCacheMisses());
            assertEquals(expectedFed(promptLen, got), fed[0], "the later samples compute only what they were not served");
            assertAllReleased(e);
        }
    }

    @Test
    void grpoSamplesServedFromTheCacheEqualTheirColdRecords() {
        grpoSamplesEqualTheirColdRecords(config(), 45);
    }

    @Test
    void aPromptOfWholeBlocksIsServedWholeAndSampledFromItsKeptLogits() {
        grpoSamplesEqualTheirColdRecords(config(), 48);
    }

    @Test
    void aPromptOfWholeBlocksWithChunkedPrefillIsServedWhole() {
        grpoSamplesEqualTheirColdRecords(config().maxNumSeqs(3).maxBatchTokens(5), 48);
    }

    private void groupSubmittedTogether(int promptLen) {
        int[] prompt = randomTokens(new Random(71 + promptLen), promptLen);
        List<GenerationRequest> reqs = grpoGroup(prompt, 6);
        List<GenerationResult> expected = cold(reqs);
        try (LLMEngine e = LLMEngine.create(config().build())) {
            long[] fed = countFedPositions(e);
            List<GenerationResult> got = e.generate(reqs); // all six at once
            for (int i = 0; i < reqs.size(); i++) {
                assertSameRecord(expected.get(i), got.get(i));
            }
            assertEquals(5L * servedPerLaterSample(promptLen), e.stats().prefixCacheHits(),
                    "the five later samples share the first one's full blocks");
            assertEquals(expectedFed(promptLen, got), fed[0]);
            assertAllReleased(e);
        }
    }

    @Test
    void aGroupSubmittedTogetherWaitsAStepForItsFirstSampleAndSharesItsPrompt() {
        groupSubmittedTogether(45);
    }

    @Test
    void aGroupOfWholeBlockPromptsSubmittedTogetherSharesTheWholePrompt() {
        groupSubmittedTogether(64);
    }

    @Test
    void grpoSamplesWithChunkedPrefillEqualTheirColdRecords() {
        grpoSamplesEqualTheirColdRecords(config().maxNumSeqs(3).maxBatchTokens(5), 45);
    }

    @Test
    void aKeptRowLivesWithItsBlockAndIsCountedInBytes() {
        int[] prompt = randomTokens(new Random(81), 32);
        try (LLMEngine e = LLMEngine.create(config().kvCacheTokens(10 * BLOCK).build())) {
            e.generate(grpoGroup(prompt, 1));
            assertEquals(1, e.blockManager().numPromptEndLogits(), "one row, kept with the prompt's last block");
            assertEquals((long) Fixtures.vocabSize(model) * Float.BYTES, e.stats().promptEndLogitsBytes());
            e.generate(grpoGroup(prompt, 2).subList(1, 2));
            assertEquals(32, e.stats().prefixCacheHits(), "the row serves the next sample");
            int cachedBefore = e.blockManager().numCached();
            // A distinct prompt (not block-aligned: it keeps no row) that needs every block evicts all cached ones.
            e.generate(List.of(new GenerationRequest("f", randomTokens(new Random(82), 10 * BLOCK - 1),
                    sampled(1, 1L, false))));
            assertTrue(cachedBefore > 0 && e.blockManager().evictions() >= cachedBefore);
            assertEquals(0, e.blockManager().numPromptEndLogits(), "evicted with its block");
            assertEquals(0, e.stats().promptEndLogitsBytes());
            assertAllReleased(e);
        }
    }

    @Test
    void multiTurnSecondTurnServedFromTheFirstEqualsItsColdRecord() {
        Random rnd = new Random(21);
        int[] turn1Prompt = randomTokens(rnd, 37);
        GenerationRequest turn1 = new GenerationRequest("turn-1", turn1Prompt, sampled(20, 77L, true));
        GenerationResult first;
        try (LLMEngine e = LLMEngine.create(config().prefixCache(false).build())) {
            first = e.generate(List.of(turn1)).get(0);
        }
        int[] turn2Prompt = concat(turn1Prompt, first.outputTokenIds(), randomTokens(rnd, 9));
        GenerationRequest turn2 = new GenerationRequest("turn-2", turn2Prompt, sampled(10, 78L, true));
        GenerationResult expected = cold(List.of(turn2)).get(0);
        try (LLMEngine e = LLMEngine.create(config().build())) {
            assertSameRecord(first, e.generate(List.of(turn1)).get(0));
            long missesBefore = e.stats().prefixCacheMisses();
            assertSameRecord(expected, e.generate(List.of(turn2)).get(0));
            // Turn 1 computed its prompt and all outputs but the last: its full blocks hold those positions.
            int computedByTurn1 = turn1Prompt.length + first.outputTokenIds().length - 1;
            assertEquals(computedByTurn1 / BLOCK * BLOCK, e.stats().prefixCacheHits());
            assertEquals(turn2Prompt.length - computedByTurn1 / BLOCK * BLOCK,
                    e.stats().prefixCacheMisses() - missesBefore);
            assertAllReleased(e);
        }
    }

    @Test
    void aBlockIsSharedOnlyUnderItsOwnPrefix() {
        // a = X Y ..., b = Z ..., c = Z Y ...: c's block 0 is b's, but its block 1 (tokens Y) must not be a's,
        // whose K/V was computed after X.
        Random rnd = new Random(31);
        int[] x = randomTokens(rnd, BLOCK), y = randomTokens(rnd, BLOCK), z = randomTokens(rnd, BLOCK);
        List<GenerationRequest> reqs = List.of(
                new GenerationRequest("a", concat(x, y, randomTokens(rnd, 5)), sampled(4, 1L, true)),
                new GenerationRequest("b", concat(z, randomTokens(rnd, 7)), sampled(4, 2L, true)),
                new GenerationRequest("c", concat(z, y, randomTokens(rnd, 3)), sampled(4, 3L, true)));
        List<GenerationResult> expected = cold(reqs);
        try (LLMEngine e = LLMEngine.create(config().build())) {
            for (int i = 0; i < reqs.size(); i++) {
                assertSameRecord(expected.get(i), e.generate(List.of(reqs.get(i))).get(0));
            }
            assertEquals(BLOCK, e.stats().prefixCacheHits(), "c is served only its first block (from b)");
            assertAllReleased(e);
        }
    }

    @Test
    void evictionUnderKvPressureNeverCorruptsARunningRequest() {
        // 8 blocks of 16 positions. Two groups of samples share 2-block prompts; distinct prompts in between keep
        // the cache full, so unreferenced cached blocks are evicted (and preemptions happen) while others are held.
        Random rnd = new Random(41);
        int[] p1 = randomTokens(rnd, 40), p2 = randomTokens(rnd, 35);
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            int[] prompt = switch (i % 3) {
                case 0 -> p1;
                case 1 -> p2;
                default -> randomTokens(rnd, 20 + rnd.nextInt(20));
            };
            reqs.add(new GenerationRequest("r" + i, prompt, sampled(8 + i % 5, 900L + i, i % 2 == 0)));
        }
        List<GenerationResult> expected = cold(reqs);
        for (AdmissionPolicy admission : AdmissionPolicy.values()) {
            try (LLMEngine e = LLMEngine.create(config().kvCacheTokens(128).admission(admission).build())) {
                List<GenerationResult> got = new ArrayList<>();
                for (int from = 0; from < reqs.size(); from += 4) {
                    got.addAll(e.generate(reqs.subList(from, from + 4)));
                }
                for (int i = 0; i < reqs.size(); i++) {
                    assertSameRecord(expected.get(i), got.get(i));
                }
                assertTrue(e.blockManager().evictions() > 0, "the test must actually evict cached blocks");
                assertTrue(e.stats().prefixCacheHits() > 0, "and serve some from the cache");
                assertAllReleased(e);
            }
        }
    }

    @Test
    void aSharedBlockStaysWithTheRequestStillHoldingItWhenTheOtherFinishes() {
        // Chunked prefill (16 tokens a step) admits b after a computed the shared blocks; a finishes early and
        // releases them while b still attends to them; c and d then need every block that is not b's.
        Random rnd = new Random(61);
        int[] p = randomTokens(rnd, 40);
        List<GenerationRequest> reqs = List.of(
                new GenerationRequest("a", p, sampled(2, 1L, true)),
                new GenerationRequest("b", p, sampled(28, 2L, false)),
                new GenerationRequest("c", randomTokens(rnd, 40), sampled(16, 3L, true)),
                new GenerationRequest("d", randomTokens(rnd, 30), sampled(10, 4L, true)));
        List<GenerationResult> expected = cold(reqs);
        for (AdmissionPolicy admission : AdmissionPolicy.values()) {
            try (LLMEngine e = LLMEngine.create(config().kvCacheTokens(96).maxBatchTokens(16).maxNumSeqs(4)
                    .admission(admission).build())) {
                List<GenerationResult> got = e.generate(reqs);
                for (int i = 0; i < reqs.size(); i++) {
                    assertSameRecord(expected.get(i), got.get(i));
                }
                assertTrue(e.stats().prefixCacheHits() >= 2 * BLOCK, "b shares a's two full blocks");
                assertAllReleased(e);
            }
        }
    }

    @Test
    void keptRowsStayWithinTheirByteBudgetLeastRecentlyUsedDroppedFirst() {
        long row = (long) Fixtures.vocabSize(model) * Float.BYTES;
        Random rnd = new Random(85);
        int[] a = randomTokens(rnd, 32), b = randomTokens(rnd, 32), c = randomTokens(rnd, 32);
        List<GenerationRequest> firsts = List.of(new GenerationRequest("a", a, sampled(3, 1L, true)),
                new GenerationRequest("b", b, sampled(3, 2L, true)), new GenerationRequest("c", c, sampled(3, 3L, true)));
        List<GenerationRequest> seconds = List.of(new GenerationRequest("a2", a, sampled(4, 4L, true)),
                new GenerationRequest("c2", c, sampled(4, 5L, true)));
        List<GenerationResult> expected = cold(seconds);
        try (LLMEngine e = LLMEngine.create(config().promptEndLogitsBytes(2 * row).build())) {
            for (GenerationRequest r : firsts) {
                e.generate(List.of(r));
            }
            assertEquals(2, e.blockManager().numPromptEndLogits(), "room for two rows: a's, the oldest, was dropped");
            assertEquals(2 * row, e.stats().promptEndLogitsBytes());
            long hits = e.stats().prefixCacheHits();
            assertSameRecord(expected.get(0), e.generate(List.of(seconds.get(0))).get(0));
            assertEquals(BLOCK, e.stats().prefixCacheHits() - hits, "a's blocks are still cached, its row is not");
            hits = e.stats().prefixCacheHits();
            assertSameRecord(expected.get(1), e.generate(List.of(seconds.get(1))).get(0));
            assertEquals(32, e.stats().prefixCacheHits() - hits, "c is served whole from its row");
            assertTrue(e.stats().promptEndLogitsBytes() <= 2 * row);
            assertAllReleased(e);
        }
    }

    /** The CPU runner with the prompt-end logits capability off: what a backend without it gets. */
    private static final class WithoutPromptEndLogits extends ForwardingModelRunner {
        WithoutPromptEndLogits(ModelRunner r) {
            super(r);
        }

        @Override
        public boolean supportsPromptEndLogits() {
            return false;
        }

        @Override
        public StepOutput forward(ForwardBatch batch) {
            for (SeqChunk c : batch.chunks()) {
                assertFalse(c.usesPromptEndLogits(), "the engine asked a backend without the capability for it");
            }
            return delegate.forward(batch);
        }
    }

    @Test
    void aBackendWithoutPromptEndLogitsComputesTheLastBlockOfAWholeBlockPrompt() {
        int promptLen = 48;
        int[] prompt = randomTokens(new Random(91), promptLen);
        List<GenerationRequest> reqs = grpoGroup(prompt, 4);
        List<GenerationResult> expected = cold(reqs);
        EngineConfig cfg = config().build();
        try (LLMEngine e = LLMEngine.create(cfg, new WithoutPromptEndLogits(CpuModelRunner.load(cfg)))) {
            List<GenerationResult> got = new ArrayList<>(e.generate(reqs.subList(0, 1)));
            got.addAll(e.generate(reqs.subList(1, reqs.size())));
            for (int i = 0; i < reqs.size(); i++) {
                assertSameRecord(expected.get(i), got.get(i));
            }
            assertEquals(3L * (promptLen - BLOCK), e.stats().prefixCacheHits(), "all blocks but the last");
            assertEquals(0, e.stats().promptEndLogitsBytes());
            assertAllReleased(e);
        }
    }

    private static GenerationRequest scoring(String rid, int[] prompt) {
        return new GenerationRequest(rid, prompt, new SamplingParams(3, 0.9f, 1f, 0, 7L, List.of(), true, true), null,
                null, true);
    }

    @Test
    void aScoringRequestTakesNoHitsAndItsPromptEndServesLaterSamples() {
        int[] prompt = randomTokens(new Random(93), 48);
        GenerationRequest sample = grpoGroup(prompt, 1).get(0), score = scoring("score", prompt);
        List<GenerationResult> expected = cold(List.of(sample, score));
        try (LLMEngine e = LLMEngine.create(config().build())) {
            assertSameRecord(expected.get(0), e.generate(List.of(sample)).get(0));
            GenerationResult scored = e.generate(List.of(score)).get(0);
            assertSameRecord(expected.get(1), scored);
            assertArrayEquals(expected.get(1).replay().promptLogprobs(), scored.replay().promptLogprobs());
            assertEquals(0, e.stats().prefixCacheHits(), "scoring needs every prompt position's logits");
            assertAllReleased(e);
        }
        try (LLMEngine e = LLMEngine.create(config().build())) {
            GenerationResult scored = e.generate(List.of(score)).get(0);
            assertArrayEquals(expected.get(1).replay().promptLogprobs(), scored.replay().promptLogprobs());
            assertSameRecord(expected.get(0), e.generate(List.of(sample)).get(0));
            assertEquals(48, e.stats().prefixCacheHits(), "the scoring request kept its prompt end for the sample");
            assertAllReleased(e);
        }
    }

    @Test
    void aForcedRequestComputesEveryPositionAndKeepsNoRow() {
        int[] prompt = randomTokens(new Random(95), 48);
        GenerationRequest free = grpoGroup(prompt, 1).get(0), later = grpoGroup(prompt, 2).get(1);
        List<GenerationResult> expected = cold(List.of(free, later));
        try (LLMEngine e = LLMEngine.create(config().build())) {
            assertSameRecord(expected.get(0), e.generate(List.of(free)).get(0));
            GenerationRequest forced = new GenerationRequest("forced", prompt, free.params(), null,
                    ForcedRouting.of(expected.get(0).routing(), prompt.length), false);
            GenerationResult replayed = e.generate(List.of(forced)).get(0);
            assertArrayEquals(expected.get(0).outputTokenIds(), replayed.outputTokenIds(),
                    "forcing a record's own routing reproduces it");
            assertArrayEquals(expected.get(0).outputLogprobs(), replayed.outputLogprobs());
            assertEquals(0, e.stats().prefixCacheHits(), "a forced request takes no hits");
            assertEquals(1, e.blockManager().numPromptEndLogits(), "only the free prompt's end keeps a row");
            assertSameRecord(expected.get(1), e.generate(List.of(later)).get(0));
            assertEquals(48, e.stats().prefixCacheHits(), "served whole from the free request's blocks");
            assertAllReleased(e);
        }
    }

    @Test
    void withTheCacheOffNothingIsServedFromIt() {
        int[] prompt = randomTokens(new Random(51), 45);
        List<GenerationRequest> reqs = grpoGroup(prompt, 3);
        try (LLMEngine e = LLMEngine.create(config().prefixCache(false).build())) {
            e.generate(reqs.subList(0, 1));
            e.generate(reqs.subList(1, 3));
            assertEquals(0, e.stats().prefixCacheHits());
            assertEquals(3L * prompt.length, e.stats().prefixCacheMisses());
            assertEquals(0, e.blockManager().numCached());
        }
    }
}
