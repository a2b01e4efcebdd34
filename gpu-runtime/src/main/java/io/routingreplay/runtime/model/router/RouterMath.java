package io.routingreplay.runtime.model.router;

/** The steps the router kinds share, float32 like transformers, each in one fixed order. */
final class RouterMath {
    private RouterMath() {
    }

    static void checkGroups(int numExperts, int topK, int nGroup, int topkGroup) {
        if (nGroup <= 0 || numExperts % nGroup != 0) {
            throw new IllegalArgumentException("invalid model config: n_group (" + nGroup
                    + ") must divide the expert count (" + numExperts + ")");
        }
        if (topkGroup <= 0 || topkGroup > nGroup || topK > topkGroup * (numExperts / nGroup)) {
            throw new IllegalArgumentException("invalid model config: topk_group (" + topkGroup + ") must be in 1.."
                    + nGroup + " and its groups must hold num_experts_per_tok (" + topK + ") experts");
        }
    }

    /** Softmax of n logits (max-subtracted, float32 exp, sum in id order). */
    static float[] softmax(float[] logits, int off, int n) {
        float[] prob = new float[n];
        float max = Float.NEGATIVE_INFINITY;
        for (int e = 0; e < n; e++) {
            max = Math.max(max, logits[off + e]);
        }
        float sum = 0;
        for (int e = 0; e < n; e++) {
            prob[e] = (float) Math.exp(logits[off + e] - max);
            sum += prob[e];
        }
        for (int e = 0; e < n; e++) {
            prob[e] /= sum;
        }
        return prob;
    }

    /**
     * Picks the k largest of {@code choice} in descending order (ties: lower id first) and writes their ids and
     * their {@code weight} values. {@code choice} is overwritten (taken entries become -inf; it may be
     * {@code weight} itself, whose taken values are read before they are overwritten).
     */
    static void takeTopK(float[] choice, float[] weight, int k, int[] ids, float[] weights, int outOff) {
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int e = 0; e < choice.length; e++) {
                if (choice[e] != Float.NEGATIVE_INFINITY && (best < 0 || choice[e] > choice[best])) {
                    best = e;
                }
            }
            ids[outOff + j] = best;
            weights[outOff + j] = weight[best];
            choice[best] = Float.NEGATIVE_INFINITY;
        }
    }

    /** {@link #takeTopK(float[], float[], int, int[], float[], int)} for the ids only. */
    static void takeTopK(float[] choice, float[] weight, int k, int[] ids, int outOff) {
        int[] top = new int[k];
        takeTopK(choice, weight, k, top, new float[k], 0);
        System.arraycopy(top, 0, ids, outOff, k);
    }

    /** Keeps the {@code topkGroup} best-scored groups (ties: lower group first); the others' entries become {@code fill}. */
    static void maskGroups(float[] choice, float[] groupScore, int size, int topkGroup, float fill) {
        boolean[] keep = new boolean[groupScore.length];
        for (int j = 0; j < topkGroup; j++) {
            int best = -1;
            for (int g = 0; g < groupScore.length; g++) {
                if (!keep[g] && (best < 0 || groupScore[g] > groupScore[best])) {
                    best = g;
                }
            }
            keep[best] = true;
        }
        for (int g = 0; g < groupScore.length; g++) {
            if (!keep[g]) {
                java.util.Arrays.fill(choice, g * size, (g + 1) * size, fill);
            }
        }
    }

    /** Orders k (id, weight) pairs by weight, descending (stable: ties keep their selection order). */
    static void sortByWeight(int[] ids, float[] weights, int off, int k) {
        for (int i = 1; i < k; i++) {
            int id = ids[off + i];
            float w = weights[off + i];
            int j = i - 1;
            while (j >= 0 && weights[off + j] < w) {
                ids[off + j + 1] = ids[off + j];
                weights[off + j + 1] = weights[off + j];
                j--;
            }
            ids[off + j + 1] = id;
            weights[off + j + 1] = w;
        }
    }

    /** {@code weights[off + j] = score[ids[off + j]]} for the k ids (the scores at the routed or forced ids). */
    static void gather(float[] score, int[] ids, float[] weights, int off, int k) {
        for (int j = 0; j < k; j++) {
            weights[off + j] = score[ids[off + j]];
        }
    }

    /** Renormalises (sum in rank order, plus {@code eps}) when asked, then scales when the factor is not 1. */
    static void finish(float[] weights, int off, int k, boolean normalise, float eps, float scaling) {
        if (normalise) {
            float kept = 0;
            for (int j = 0; j < k; j++) {
                kept += weights[off + j];
            }
            kept += eps;
            for (int j = 0; j < k; j++) {
                weights[off + j] /= kept;
            }
        }
        if (scaling != 1f) {
            for (int j = 0; j < k; j++) {
                weights[off + j] *= scaling;
            }
        }
    }
}
