package io.routingreplay.runtime.sampler;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

class SamplerTest {
    private static SamplingParams params(float temperature, float topP, int topK) {
        return new SamplingParams(8, temperature, topP, topK, 1L, List.of(), false, false);
    }

    @Test
    void greedyTakesTheArgmaxAndTheLowestIdOnTies() {
        float[] logits = {0.5f, 2f, 2f, -1f};
        assertEquals(1, Sampler.sample(logits, 0, 4, SamplingParams.greedy(1), 0, 0).token());
    }

    @Test
    void logprobIsLogSoftmaxOfTheRawLogits() {
        float[] logits = {0f, (float) Math.log(3)};
        assertEquals(Math.log(0.75), Sampler.logprob(logits, 0, 2, 1), 1e-6);
        // temperature changes the draw, not the reported logprob
        Sampler.Sample s = Sampler.sample(logits, 0, 2, params(5f, 1f, 0), 3, 0);
        assertEquals(Sampler.logprob(logits, 0, 2, s.token()), s.logprob(), 0f);
    }

    @Test
    void sameSeedAndIndexGiveTheSameToken() {
        float[] logits = new float[1000];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) r.nextGaussian();
        }
        for (int idx = 0; idx < 20; idx++) {
            int a = Sampler.sample(logits, 0, 1000, params(1f, 0.95f, 0), 42, idx).token();
            int b = Sampler.sample(logits, 0, 1000, params(1f, 0.95f, 0), 42, idx).token();
            assertEquals(a, b);
        }
    }

    @Test
    void drawsFollowTheTemperatureScaledDistribution() {
        float[] logits = {0f, (float) Math.log(3)};
        int ones = 0;
        int n = 20000;
        for (int i = 0; i < n; i++) {
            ones += Sampler.sample(logits, 0, 2, params(1f, 1f, 0), 99, i).token();
        }
        assertEquals(0.75, ones / (double) n, 0.015);
    }

    @Test
    void topKOneAndTinyTopPAreGreedy() {
        float[] logits = {0.1f, 0.3f, 0.2f, 0.25f};
        for (int i = 0; i < 50; i++) {
            assertEquals(1, Sampler.sample(logits, 0, 4, params(1f, 1f, 1), 5, i).token());
            assertEquals(1, Sampler.sample(logits, 0, 4, params(1f, 1e-6f, 0), 5, i).token());
        }
    }

    @Test
    void topKNeverDrawsOutsideTheKBest() {
        float[] logits = {5f, 4f, 3f, 2f, 1f, 0f};
        for (int i = 0; i < 500; i++) {
            int t = Sampler.sample(logits, 0, 6, params(10f, 1f, 3), 11, i).token();
            assertEquals(true, t < 3, "token " + t);
        }
    }

    @Test
    void candidatesAreSortedByLogitThenId() {
        float[] logits = {1f, -2f, 3f, 3f, Float.NEGATIVE_INFINITY, 0f};
        assertArrayEquals(new int[]{2, 3, 0, 5, 1, 4}, Sampler.candidates(logits, 0, 6, 6));
        assertArrayEquals(new int[]{2, 3, 0}, Sampler.candidates(logits, 0, 6, 3));
    }

    @Test
    void validationNamesTheBadValue() {
        assertNull(params(0.7f, 0.9f, 40).validate(100));
        assertNotNull(new SamplingParams(0, 0f, 1f, 0, null, null, false, false).validate(100));
        assertNotNull(new SamplingParams(101, 0f, 1f, 0, null, null, false, false).validate(100));
        assertNotNull(params(-0.1f, 1f, 0).validate(100));
        assertNotNull(params(Float.NaN, 1f, 0).validate(100));
        assertNotNull(params(1f, 0f, 0).validate(100));
        assertNotNull(params(1f, 1.5f, 0).validate(100));
        assertNotNull(params(1f, 1f, -1).validate(100));
    }
}
