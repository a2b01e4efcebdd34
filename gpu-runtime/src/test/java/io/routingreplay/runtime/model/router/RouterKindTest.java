package io.routingreplay.runtime.model.router;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Each router kind against examples worked out by hand (logits chosen so the probabilities are round numbers). */
class RouterKindTest {

    /** Logits whose softmax is {@code p} (p sums to 1). */
    private static float[] softmaxLogits(double... p) {
        float[] l = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            l[i] = (float) Math.log(p[i]);
        }
        return l;
    }

    /** Logits whose sigmoid is {@code s}. */
    private static float[] sigmoidLogits(double... s) {
        float[] l = new float[s.length];
        for (int i = 0; i < s.length; i++) {
            l[i] = (float) Math.log(s[i] / (1 - s[i]));
        }
        return l;
    }

    private static void assertRoute(RouterKind r, float[] logits, float[] bias, int[] ids, double... weights) {
        int[] gotIds = new int[r.topK() + 1];
        float[] gotW = new float[r.topK() + 1];
        r.route(logits, 0, bias, gotIds, gotW, 1);    // at an offset, as the runner writes token t at t·K
        assertArrayEquals(ids, java.util.Arrays.copyOfRange(gotIds, 1, gotIds.length));
        for (int k = 0; k < weights.length; k++) {
            org.junit.jupiter.api.Assertions.assertEquals(weights[k], gotW[k + 1], 1e-6, "weight " + k);
        }
    }

    @Test
    void softmaxTopKTakesTheMostProbableAndRenormalisesWhenAsked() {
        float[] logits = softmaxLogits(0.125, 0.25, 0.5, 0.125);
        assertRoute(new SoftmaxTopK(4, 2, false, 1f), logits, null, new int[]{2, 1}, 0.5, 0.25);
        assertRoute(new SoftmaxTopK(4, 2, true, 1f), logits, null, new int[]{2, 1}, 2 / 3.0, 1 / 3.0);
        // experts 0 and 3 tie: the lower id comes first
        assertRoute(new SoftmaxTopK(4, 3, false, 1f), logits, null, new int[]{2, 1, 0}, 0.5, 0.25, 0.125);
        assertRoute(new SoftmaxTopK(4, 2, false, 16f), logits, null, new int[]{2, 1}, 8, 4);
    }

    @Test
    void groupLimitedGreedyScoresGroupsByTheirBestExpert() {
        // groups of 2: maxima 0.30, 0.20, 0.04, 0.17 -> groups 0 and 1 compete; plain top-3 would take expert 7
        float[] logits = softmaxLogits(0.05, 0.30, 0.20, 0.08, 0.01, 0.04, 0.15, 0.17);
        assertRoute(new SoftmaxGroupLimitedGreedy(8, 3, 4, 2, false, 16f), logits, null, new int[]{1, 2, 3},
                0.30 * 16, 0.20 * 16, 0.08 * 16);
        assertRoute(new SoftmaxTopK(8, 3, false, 16f), logits, null, new int[]{1, 2, 7},
                0.30 * 16, 0.20 * 16, 0.17 * 16);
    }

    @Test
    void sigmoidGroupLimitedSelectsByBiasedScoresAndWeighsByUnbiasedOnes() {
        float[] logits = sigmoidLogits(0.9, 0.1, 0.6, 0.5, 0.2, 0.3, 0.7, 0.35);
        float[] bias = {0, 0, 0, 0.5f, 0, 0.6f, 0, 0};
        // biased: 0.9 0.1 | 0.6 1.0 | 0.2 0.9 | 0.7 0.35 -> group sums 1.0, 1.6, 1.1, 1.05: groups 1 and 2 compete
        // (expert 0, the best unbiased one, is left out); top-3 biased: 3, 5, 2; weights are the unbiased 0.5, 0.3,
        // 0.6, listed by weight: 2, 3, 5; normalised by 1.4, times 2.5
        assertRoute(new SigmoidGroupLimited(8, 3, 4, 2, true, 2.5f), logits, bias, new int[]{2, 3, 5},
                0.6 / 1.4 * 2.5, 0.5 / 1.4 * 2.5, 0.3 / 1.4 * 2.5);
        assertRoute(new SigmoidGroupLimited(8, 3, 4, 2, false, 2.5f), logits, bias, new int[]{2, 3, 5},
                1.5, 1.25, 0.75);
    }

    @Test
    void sigmoidGroupScoreIsTheSumOfTheTwoBestNotTheBest() {
        // group 0: 0.95 + 0.01 = 0.96, group 1: 0.6 + 0.6 = 1.2 -> group 1, although group 0 has the best expert
        float[] logits = sigmoidLogits(0.95, 0.01, 0.6, 0.6);
        assertRoute(new SigmoidGroupLimited(4, 1, 2, 1, true, 1f), logits, new float[4], new int[]{2}, 1.0);
    }

    @Test
    void groupsMustDivideTheExpertsAndHoldTopK() {
        assertThrows(IllegalArgumentException.class, () -> new SigmoidGroupLimited(8, 2, 3, 1, true, 1f));
        assertThrows(IllegalArgumentException.class, () -> new SigmoidGroupLimited(8, 3, 4, 1, true, 1f));
        assertThrows(IllegalArgumentException.class, () -> new SoftmaxGroupLimitedGreedy(8, 2, 4, 5, true, 1f));
    }

    /**
     * Routing replay's weights: each kind weighs forced ids by its own scores at those ids (the bias never enters),
     * normalised over them and scaled as the kind does; forcing the ids it selects gives route's weights bit for bit.
     */
    @Test
    void forcedIdsAreWeighedByTheKindsOwnScoresNormalisationAndScaling() {
        float[] softmax = softmaxLogits(0.05, 0.30, 0.20, 0.08, 0.01, 0.04, 0.15, 0.17);
        float[] sigmoid = sigmoidLogits(0.9, 0.1, 0.6, 0.5, 0.2, 0.3, 0.7, 0.35);
        float[] bias = {0, 0, 0, 0.5f, 0, 0.6f, 0, 0};
        // forced 7, 0, 4: not what any of these kinds selects (expert 4 is in a group they all leave out)
        assertWeighs(new SoftmaxTopK(8, 3, true, 1f), softmax, null, 0.17 / 0.23, 0.05 / 0.23, 0.01 / 0.23);
        assertWeighs(new SoftmaxGroupLimitedGreedy(8, 3, 4, 2, false, 16f), softmax, null, 0.17 * 16, 0.05 * 16,
                0.01 * 16);
        assertWeighs(new SigmoidGroupLimited(8, 3, 4, 2, true, 2.5f), sigmoid, bias, 0.35 / 1.45 * 2.5,
                0.9 / 1.45 * 2.5, 0.2 / 1.45 * 2.5);
    }

    private static void assertWeighs(RouterKind r, float[] logits, float[] bias, double... forcedWeights) {
        int[] ids = new int[r.topK() + 1];
        float[] routed = new float[r.topK() + 1];
        r.route(logits, 0, bias, ids, routed, 1);
        float[] weighed = new float[r.topK() + 1];
        r.weigh(logits, 0, ids, weighed, 1);
        assertArrayEquals(routed, weighed, r + ": the selected ids forced weigh as routed, bit for bit");
        int[] forced = {-1, 7, 0, 4};
        float[] w = new float[4];
        r.weigh(logits, 0, forced, w, 1);
        for (int k = 0; k < forcedWeights.length; k++) {
            org.junit.jupiter.api.Assertions.assertEquals(forcedWeights[k], w[k + 1], 1e-6, r + " forced weight " + k);
        }
    }
}
