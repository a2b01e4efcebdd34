package io.routingreplay.runtime.engine;

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
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A record served partly from the prefix cache equals the record computed cold (prefix cache off, request alone),
 * bit for bit: tokens, logprobs, routing ids and weights, including the routing of the cached positions. Every
 * engine here ends with every block's reference count back at zero. On every CPU fixture (every architecture).
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

    /** GRPO: n samples of one prompt (different seeds, with and without weights); the first warms the cache. */
    private static List<GenerationRequest> grpoGroup(int[] prompt, int n) {
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            reqs.add(new GenerationRequest("g" + i, prompt, sampled(6 + i % 3, 500L + i, i % 2 == 0)));
        }
        return reqs;
    }

    private void grpoSamplesEqualTheirColdRecords(EngineConfig.Builder cfg, int promptLen) {
        int[] prompt = randomTokens(new Random(11 + promptLen), promptLen);
        List<GenerationRequest> reqs = grpoGroup(prompt, 6);
        List<GenerationResult> expected = cold(reqs);
        try (LLMEngine e = LLMEngine.create(cfg.build())) {
            List<GenerationResult> got = new ArrayList<>(e.generate(reqs.subList(0, 1)));
            got.addAll(e.generate(reqs.subList(1, reqs.size()))); // batched, each sharing the first's blocks
            for (int i = 0; i < reqs.size(); i++) {
                assertSameRecord(expected.get(i), got.get(i));
            }
            // Every later sample is served all full blocks but the one holding its last prompt position.
            int shared = (promptLen - 1) / BLOCK * BLOCK;
            assertTrue(shared > 0, "the prompt spans full blocks");
            assertEquals(5L * shared, e.stats().prefixCacheHits());
            assertEquals(6L * promptLen - 5L * shared, e.stats().prefixCacheMisses());
            assertAllReleased(e);
        }
    }

    @Test
    void grpoSamplesServedFromTheCacheEqualTheirColdRecords() {
        grpoSamplesEqualTheirColdRecords(config(), 45);
    }

    @Test
    void aPromptOfWholeBlocksStillComputesItsLastPosition() {
        grpoSamplesEqualTheirColdRecords(config(), 48);
    }

    @Test
    void aGroupSubmittedTogetherWaitsAStepForItsFirstSampleAndSharesItsPrompt() {
        int promptLen = 45;
        int[] prompt = randomTokens(new Random(71), promptLen);
        List<GenerationRequest> reqs = grpoGroup(prompt, 6);
        List<GenerationResult> expected = cold(reqs);
        try (LLMEngine e = LLMEngine.create(config().build())) {
            List<GenerationResult> got = e.generate(reqs); // all six at once
            for (int i = 0; i < reqs.size(); i++) {
                assertSameRecord(expected.get(i), got.get(i));
            }
            assertEquals(5L * ((promptLen - 1) / BLOCK * BLOCK), e.stats().prefixCacheHits(),
                    "the five later samples share the first one's full blocks");
            assertAllReleased(e);
        }
    }

    @Test
    void grpoSamplesWithChunkedPrefillEqualTheirColdRecords() {
        grpoSamplesEqualTheirColdRecords(config().maxNumSeqs(3).maxBatchTokens(5), 45);
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
