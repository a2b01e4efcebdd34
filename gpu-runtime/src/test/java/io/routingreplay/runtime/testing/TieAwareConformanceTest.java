package io.routingreplay.runtime.testing;

import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.routing.ForcedRouting;
import io.routingreplay.runtime.routing.RoutingRecord;
import io.routingreplay.runtime.routing.RoutingSelection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link TieAwareConformance} on the CPU backend, which stands in for a GPU that ran the other expert at a reference
 * near-tie: qwen3-moe-mixed-tiny case 2 with expert 211 instead of 93 at token 93, MoE layer 0 (router probabilities
 * 5.7e-7 apart; what the H100 did on 2026-12-07).
 */
class TieAwareConformanceTest {
    private static final String FIXTURE = "qwen3-moe-mixed-tiny";
    private static LLMEngine cpu;

    @BeforeAll
    static void start() {
        cpu = LLMEngine.create(EngineConfig.builder(Fixtures.model(FIXTURE)).threads(2).prefixCache(false).build());
    }

    @AfterAll
    static void stop() {
        cpu.close();
    }

    @Test
    void aFlippedNearTieIsReplayedAndConforms() {
        List<GenerationResult> results = withCase2Forced(93, 0, 5, 211);
        assertEquals(18, plainRuleFailures(results), "the flip alone fails the plain rule, as on the H100");
        TieAwareConformance.Outcome o = TieAwareConformance.check(FIXTURE, results, cpu::generate);
        assertEquals(List.of(), o.failures());
        assertEquals(1, o.replayed());
        assertTrue(o.downstreamOfFlip() > 2000, "token 93 on, MoE layers 1 and 2: " + o.downstreamOfFlip());
        TieAwareConformance.Outcome unreplayed = TieAwareConformance.check(FIXTURE, results, null);
        assertEquals(List.of(), unreplayed.failures(), "without replay the downstream cells are skipped");
        assertEquals(0, unreplayed.replayed());
    }

    @Test
    void anotherExpertWhereTheReferenceHasAClearMarginStillFails() {
        // token 50, MoE layer 0: margin well above 1e-4; the first-ranked expert replaced by the flip's expert
        Fixtures.Case c = Fixtures.cases(FIXTURE).get(2);
        assertTrue(c.topkMargin()[50][0] > 1e-3);
        List<GenerationResult> results = withCase2Forced(50, 0, 0, 211);
        TieAwareConformance.Outcome o = TieAwareConformance.check(FIXTURE, results, cpu::generate);
        assertTrue(o.failures().stream().anyMatch(f -> f.contains("case 2 token 50 layer 0 k 0: expert 211")), o.failures().toString());
        // an engine whose router is off by 1 % at a cell downstream of the flipped near-tie (token 300, MoE layer 1),
        // in every run: skipped in the run itself, caught in its replay on the reference's trajectory
        Function<List<GenerationRequest>, List<GenerationResult>> skewed = reqs -> skew(cpu.generate(reqs), 300, 1);
        List<GenerationResult> flipped = skew(withCase2Forced(93, 0, 5, 211), 300, 1);
        assertEquals(List.of(), TieAwareConformance.check(FIXTURE, flipped, null).failures(), "skipped unreplayed");
        TieAwareConformance.Outcome r = TieAwareConformance.check(FIXTURE, flipped, skewed);
        assertEquals(1, r.replayed());
        assertTrue(r.failures().stream().anyMatch(f -> f.contains("case 2 replayed") && f.contains("token 300 layer 1 k 0: weight")),
                r.failures().toString());
    }

    @Test
    void twoEquallyWeightedExpertsListedInTheOtherOrderAreNoFailureButAClearOrderIs() {
        // case 2, token 163, MoE layer 2: ranks 3 and 4 weigh 0.0182992 and 0.0182930 (6e-6 apart); ranks 0 and 1 of
        // token 50, layer 0 are far apart
        List<GenerationResult> plain = cpu.generate(Fixtures.greedyRequests(FIXTURE));
        assertEquals(List.of(), TieAwareConformance.check(FIXTURE, plain, null).failures());
        List<GenerationResult> tied = swapRanks(plain, 163, 2, 3);
        assertEquals(List.of(), TieAwareConformance.check(FIXTURE, tied, null).failures());
        List<String> clear = TieAwareConformance.check(FIXTURE, swapRanks(plain, 50, 0, 0), null).failures();
        assertTrue(clear.stream().anyMatch(f -> f.contains("case 2 token 50 layer 0 k 0: expert")), clear.toString());
    }

    /** The results with case 2's ranks k and k + 1 of (token, layer) swapped, ids and weights. */
    private static List<GenerationResult> swapRanks(List<GenerationResult> results, int token, int layer, int k) {
        List<GenerationResult> out = new ArrayList<>(results);
        GenerationResult g = results.get(2);
        RoutingRecord r = g.routing();
        byte[] ids = r.ids().clone();
        float[] w = r.weights().clone();
        int at = (token * r.layout().numMoeLayers() + layer) * r.layout().topK() + k;
        int width = ids.length / w.length;         // 1 (uint8) or 2 (uint16) bytes per id
        for (int b = 0; b < width; b++) {
            byte x = ids[at * width + b];
            ids[at * width + b] = ids[(at + 1) * width + b];
            ids[(at + 1) * width + b] = x;
        }
        float x = w[at];
        w[at] = w[at + 1];
        w[at + 1] = x;
        out.set(2, new GenerationResult(g.rid(), g.promptTokenIds(), g.outputTokenIds(), g.outputLogprobs(),
                g.finishReason(), new RoutingRecord(r.layout(), r.firstPosition(), r.numTokens(), ids, w), g.replay()));
        return out;
    }

    /** Each case-2-length result with the weights of (token, layer) times 1.01. */
    private static List<GenerationResult> skew(List<GenerationResult> results, int token, int layer) {
        List<GenerationResult> out = new ArrayList<>();
        for (GenerationResult g : results) {
            RoutingRecord r = g.routing();
            if (r.numTokens() <= token) {
                out.add(g);
                continue;
            }
            float[] w = r.weights().clone();
            int k = r.layout().topK();
            for (int j = 0; j < k; j++) {
                w[(token * r.layout().numMoeLayers() + layer) * k + j] *= 1.01f;
            }
            out.add(new GenerationResult(g.rid(), g.promptTokenIds(), g.outputTokenIds(), g.outputLogprobs(),
                    g.finishReason(), new RoutingRecord(r.layout(), r.firstPosition(), r.numTokens(), r.ids(), w),
                    g.replay()));
        }
        return out;
    }

    /** The fixture's greedy results with case 2 routed as the CPU routes it except the given (token, layer, k, id). */
    private static List<GenerationResult> withCase2Forced(int... cells) {
        List<GenerationRequest> reqs = new ArrayList<>(Fixtures.greedyRequests(FIXTURE));
        GenerationRequest r2 = reqs.get(2);
        int last = 0;
        for (int i = 0; i < cells.length; i += 4) {
            last = Math.max(last, cells[i]);
        }
        int[] ids = ForcedRouting.of(cpu.generate(List.of(r2)).get(0).routing(), last + 1).ids();
        for (int i = 0; i < cells.length; i += 4) {
            ids[(cells[i] * 3 + cells[i + 1]) * 6 + cells[i + 2]] = cells[i + 3];
        }
        reqs.set(2, new GenerationRequest(r2.rid(), r2.promptTokenIds(), r2.params(), RoutingSelection.ALL,
                new ForcedRouting(last + 1, ids), false));
        return cpu.generate(reqs);
    }

    /** The plain rule's failures (Conformance, counted instead of asserted): ids and weights where margin >= 1e-4. */
    private static int plainRuleFailures(List<GenerationResult> results) {
        int fails = 0;
        List<Fixtures.Case> cases = Fixtures.cases(FIXTURE);
        for (int i = 0; i < cases.size(); i++) {
            Fixtures.Case c = cases.get(i);
            for (int t = 0; t < c.topkIds().length; t++) {
                for (int l = 0; l < c.topkIds()[t].length; l++) {
                    if (c.topkMargin()[t][l] < 1e-4) {
                        continue;
                    }
                    for (int k = 0; k < c.topkIds()[t][l].length; k++) {
                        fails += c.topkIds()[t][l][k] != results.get(i).routing().id(t, l, k)
                                || Math.abs(c.topkWeights()[t][l][k] - results.get(i).routing().weight(t, l, k)) > 1e-3 ? 1 : 0;
                    }
                }
            }
        }
        return fails;
    }
}
