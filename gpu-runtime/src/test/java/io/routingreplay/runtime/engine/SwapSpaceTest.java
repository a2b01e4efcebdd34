package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.backend.ModelRunner;
import io.routingreplay.runtime.backend.ModelRunners;
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
 * The host swap space: a K/V cache too small for the requests preempts them (eager admission); with a swap space
 * their computed blocks come back from host memory, so nothing is computed again and every record equals the one
 * an unconstrained run computes, bit for bit, with the prefix cache on and off. A swap space too small for the
 * preempted blocks drops copies (oldest first) and those requests compute again: still every record, none lost.
 */
class SwapSpaceTest {
    private static final String MODEL = "qwen3-moe-tiny";
    private static final int SQUEEZED_KV_TOKENS = 96;

    private record Run(EngineStats stats, List<GenerationResult> results) {
    }

    private static EngineConfig.Builder config(boolean prefixCache) {
        return EngineConfig.builder(Fixtures.model(MODEL)).threads(2).prefixCache(prefixCache)
                .admission(AdmissionPolicy.EAGER);  // eager: the squeezed runs must preempt
    }

    private static Run run(EngineConfig cfg, List<GenerationRequest> reqs) {
        try (LLMEngine e = LLMEngine.create(cfg)) {
            List<GenerationResult> results = e.generate(reqs);
            assertEquals(0, e.blockManager().numUsed(), "every block released");
            assertEquals(0, e.swapSlotsInUse(), "every swap slot released");
            return new Run(e.stats(), results);
        }
    }

    private static List<GenerationRequest> requests() {
        Random rnd = new Random(15);
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int[] prompt = new int[10 + rnd.nextInt(20)];
            for (int j = 0; j < prompt.length; j++) {
                prompt[j] = rnd.nextInt(151_000);
            }
            reqs.add(new GenerationRequest("r" + i, prompt, new SamplingParams(24, 1f, 1f, 0, 100L + i, List.of(),
                    true, true)));
        }
        return reqs;
    }

    /** Host bytes of one swapped block of the fixture on the CPU backend. */
    private static long bytesPerBlock() {
        try (ModelRunner r = ModelRunners.create(config(false).build())) {
            return r.kvSwapBytesPerBlock();
        }
    }

    @Test
    void preemptedRequestsComeBackFromHostMemoryWithTheirUnpreemptedRecords() {
        List<GenerationRequest> reqs = requests();
        for (boolean cache : new boolean[]{false, true}) {
            Run free = run(config(cache).swapSpaceBytes(0).build(), reqs);
            Run swapped = run(config(cache).kvCacheTokens(SQUEEZED_KV_TOKENS).build(), reqs);
            Run recomputed = run(config(cache).kvCacheTokens(SQUEEZED_KV_TOKENS).swapSpaceBytes(0).build(), reqs);
            String where = "prefix cache " + cache;
            assertEquals(0, free.stats().preemptions(), where);
            assertTrue(swapped.stats().preemptions() > 0, where + ": the test must actually preempt");
            assertTrue(swapped.stats().swappedOutBlocks() > 0, where);
            assertTrue(swapped.stats().swappedInBlocks() > 0, where);
            assertEquals(0, swapped.stats().recomputedPositions(), where + ": nothing computed again");
            assertTrue(recomputed.stats().recomputedPositions() > 0, where + ": without it, preempted work is redone");
            assertEquals(0, recomputed.stats().swappedOutBlocks(), where);
            for (int i = 0; i < reqs.size(); i++) {
                assertSameRecord(free.results().get(i), swapped.results().get(i));
                assertSameRecord(free.results().get(i), recomputed.results().get(i));
            }
            // fed tokens: the swapped run feeds exactly what the unconstrained one does
            assertEquals(free.stats().prefillTokens() + free.stats().decodeTokens(),
                    swapped.stats().prefillTokens() + swapped.stats().decodeTokens(), where);
        }
    }

    /** A preempted request aborted while its blocks wait in the swap space gives their slots back. */
    @Test
    void abortingASwappedRequestFreesItsSlots() {
        List<GenerationRequest> reqs = requests();
        try (LLMEngine e = LLMEngine.create(config(false).kvCacheTokens(SQUEEZED_KV_TOKENS).build())) {
            reqs.forEach(e::add);
            while (e.swapSlotsInUse() == 0 && e.hasUnfinished()) {
                e.step();
            }
            assertTrue(e.swapSlotsInUse() > 0, "the test must swap a request out");
            for (GenerationRequest r : reqs) {
                e.abort(r.rid());
            }
            assertEquals(0, e.swapSlotsInUse());
            assertEquals(0, e.blockManager().numUsed());
            assertTrue(!e.hasUnfinished());
        }
    }

    /** A sharded engine's ranks each copy their own K/V heads of the same blocks into the same slots. */
    @Test
    void aShardedEngineSwapsEveryRanksShare() {
        List<GenerationRequest> reqs = requests();
        Run free = run(config(true).tensorParallel(2).swapSpaceBytes(0).build(), reqs);
        Run swapped = run(config(true).tensorParallel(2).kvCacheTokens(SQUEEZED_KV_TOKENS).build(), reqs);
        assertTrue(swapped.stats().preemptions() > 0, "the test must actually preempt");
        assertTrue(swapped.stats().swappedInBlocks() > 0);
        assertEquals(0, swapped.stats().recomputedPositions());
        for (int i = 0; i < reqs.size(); i++) {
            assertSameRecord(free.results().get(i), swapped.results().get(i));
        }
    }

    @Test
    void aFullSwapSpaceDropsTheOldestCopiesAndThoseRequestsComputeAgain() {
        List<GenerationRequest> reqs = requests();
        long perBlock = bytesPerBlock();
        assertTrue(perBlock > 0, "the CPU backend offers a swap space");
        Run free = run(config(true).swapSpaceBytes(0).build(), reqs);
        Run noSwap = run(config(true).kvCacheTokens(SQUEEZED_KV_TOKENS).swapSpaceBytes(0).build(), reqs);
        // one slot: fewer than most preempted requests' blocks (a copy keeps their first block only)
        Run tiny = run(config(true).kvCacheTokens(SQUEEZED_KV_TOKENS).swapSpaceBytes(perBlock + perBlock / 2)
                .build(), reqs);
        for (int i = 0; i < reqs.size(); i++) {
            assertSameRecord(free.results().get(i), tiny.results().get(i));
        }
        assertTrue(tiny.stats().preemptions() > 0, "the test must actually preempt");
        assertTrue(tiny.stats().swappedOutBlocks() > tiny.stats().swappedInBlocks(),
                "some copies were dropped for room: out " + tiny.stats().swappedOutBlocks() + ", in "
                        + tiny.stats().swappedInBlocks());
        assertTrue(tiny.stats().recomputedPositions() > 0, "dropped copies are computed again");
        // the copies that fit still spare work
        assertTrue(tiny.stats().swappedInBlocks() > 0, "some copies came back");
        assertTrue(tiny.stats().recomputedPositions() < noSwap.stats().recomputedPositions(),
                "one slot " + tiny.stats().recomputedPositions() + " recomputed, none "
                        + noSwap.stats().recomputedPositions());
    }
}
