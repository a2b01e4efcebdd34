package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.sampler.Sampler;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The agreement check's rule for differing output tokens ({@link TokenTies}), on the CPU backend alone: the one
 * sampled difference the H100 showed (gpu-check 2026-12-07, glm4-moe-tiny request 81, output 14: GPU 395, CPU 715)
 * is two near-equal logits taken in the other order, and wrongly chosen tokens stay mismatches.
 */
class TokenTiesTest {
    private static final String FIXTURE = "glm4-moe-tiny";
    /** CudaChecks.main's seeds: 7 for the first accepted fixture; glm4-moe-tiny is the fourth. */
    private static final long AGREEMENT_SEED = 10L;

    @Test
    void theH100sDifferingSampledTokenIsANearTieInLogit() {
        GenerationRequest r81 = CudaChecks.randomRequests(FIXTURE, 100, AGREEMENT_SEED).get(81);
        SamplingParams p = r81.params();
        assertEquals(1.4255755f, p.temperature());
        assertEquals(50, p.topK());
        assertEquals(-6619553782511420626L, p.seed(), "the request the GPU check reported");
        int[] cpuTokens = {441, 764, 694, 256, 991, 251, 564, 1001, 89, 495, 524, 143, 1059, 292, 715};
        try (LLMEngine e = LLMEngine.create(EngineConfig.builder(model()).threads(2).build())) {
            assertArrayEquals(cpuTokens, e.generate(List.of(r81)).get(0).outputTokenIds(), "the CPU's tokens in the log");
        }
        float[] row = TokenTies.cpuLogits(model(), Numerics.EXACT, CudaChecks.prefix(r81.promptTokenIds(), cpuTokens,
                14), p, 14);
        assertEquals(715, Sampler.sample(row, 0, row.length, p, p.seed(), 14).token(), "the row the CPU drew from");
        assertEquals(row[715], row[395], 1e-5f, "395 and 715 are tied to float32 noise");
        assertTrue(TokenTies.choosesWithinTolerance(row, p, 14, 395, TokenTies.LOGIT_TOLERANCE),
                "395 is the CPU's draw once its logit moves by 1e-4");
        assertFalse(TokenTies.choosesWithinTolerance(row, p, 14, 395, 0f), "and not without");
        assertTrue(TokenTies.cpuChoosesWithinTolerance(model(), Numerics.EXACT,
                CudaChecks.prefix(r81.promptTokenIds(), cpuTokens, 14), p, 14, 395));
    }

    /** A GPU drawing with a wrong uniform (the next index's), twice the temperature or no top-k cut: each token it
     *  picks that the right draw does not is a mismatch; likewise a greedy pick of the second-best token. */
    @Test
    void wronglyChosenTokensStayMismatches() {
        int flagged = 0, differing = 0;
        for (GenerationRequest r : CudaChecks.randomRequests(FIXTURE, 30, AGREEMENT_SEED)) {
            SamplingParams p = r.params();
            float[] row = TokenTies.cpuLogits(model(), Numerics.EXACT, r.promptTokenIds(), p, 0);
            if (p.isGreedy()) {
                int best = Sampler.sample(row, 0, row.length, p, 0L, 0).token();
                float[] rest = row.clone();
                rest[best] = Float.NEGATIVE_INFINITY;
                int second = Sampler.sample(rest, 0, rest.length, p, 0L, 0).token();
                differing++;
                flagged += TokenTies.choosesWithinTolerance(row, p, 0, second, TokenTies.LOGIT_TOLERANCE) ? 0 : 1;
                continue;
            }
            int right = Sampler.sample(row, 0, row.length, p, p.seed(), 0).token();
            int[] wrong = {Sampler.sample(row, 0, row.length, p, p.seed(), 1).token(),
                    Sampler.sample(row, 0, row.length, with(p, p.temperature() * 2, p.topK()), p.seed(), 0).token(),
                    Sampler.sample(row, 0, row.length, with(p, p.temperature(), 0), p.seed(), 0).token()};
            for (int w : wrong) {
                if (w != right) {
                    differing++;
                    flagged += TokenTies.choosesWithinTolerance(row, p, 0, w, TokenTies.LOGIT_TOLERANCE) ? 0 : 1;
                }
            }
        }
        assertTrue(differing >= 20, "enough wrong choices differ to judge: " + differing);
        assertEquals(differing, flagged, "every wrongly chosen token is a mismatch");
    }

    private static SamplingParams with(SamplingParams p, float temperature, int topK) {
        return new SamplingParams(p.maxNewTokens(), temperature, p.topP(), topK, p.seed(), List.of(), true, true);
    }

    private static Path model() {
        return Fixtures.model(FIXTURE);
    }
}
