package io.routingreplay.runtime.model.router;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ConfigJson;

/**
 * DeepSeek-V3's router (also GLM-4.5's): sigmoid scores; {@code e_score_correction_bias} is added for selection
 * only; the experts are split into {@code nGroup} equal groups scored by the sum of their two best biased scores;
 * only the {@code topkGroup} best groups compete; the k best biased scores are routed with their unbiased sigmoid
 * scores as weights, normalised to sum to 1 when {@code normTopkProb} (denominator + 1e-20), times
 * {@code routedScaling}.
 */
public record SigmoidGroupLimited(int numExperts, int topK, int nGroup, int topkGroup, boolean normTopkProb,
                                  float routedScaling) implements RouterKind {

    /**
     * From config.json (DeepSeek-V3's and GLM-4.5's keys, defaults as transformers): {@code n_group},
     * {@code topk_group}, {@code norm_topk_prob}, {@code routed_scaling_factor}.
     */
    public static SigmoidGroupLimited read(JsonNode c, int numExperts, int topK) {
        return new SigmoidGroupLimited(numExperts, topK, ConfigJson.intOpt(c, "n_group", 1),
                ConfigJson.intOpt(c, "topk_group", 1), ConfigJson.bool(c, "norm_topk_prob", true),
                (float) ConfigJson.doubleOpt(c, "routed_scaling_factor", 1.0));
    }

    public SigmoidGroupLimited {
        RouterMath.checkGroups(numExperts, topK, nGroup, topkGroup);
    }

    @Override
    public boolean hasCorrectionBias() {
        return true;
    }

    @Override
    public void select(float[] logits, int off, float[] bias, int[] ids, int outOff) {
        float[] score = scores(logits, off);
        float[] choice = new float[numExperts];
        for (int e = 0; e < numExperts; e++) {
            choice[e] = score[e] + bias[e];
        }
        int size = numExperts / nGroup;
        float[] groupScore = new float[nGroup];
        for (int g = 0; g < nGroup; g++) {
            float first = Float.NEGATIVE_INFINITY, second = Float.NEGATIVE_INFINITY;
            for (int e = g * size; e < (g + 1) * size; e++) {
                if (choice[e] > first) {
                    second = first;
                    first = choice[e];
                } else if (choice[e] > second) {
                    second = choice[e];
                }
            }
            groupScore[g] = size == 1 ? first : first + second;
        }
        RouterMath.maskGroups(choice, groupScore, size, topkGroup, Float.NEGATIVE_INFINITY);
        int[] top = new int[topK];
        float[] picked = new float[topK];           // their unbiased scores: the record lists ids by weight
        RouterMath.takeTopK(choice, score, topK, top, picked, 0);
        RouterMath.sortByWeight(top, picked, 0, topK);
        System.arraycopy(top, 0, ids, outOff, topK);
    }

    @Override
    public void weigh(float[] logits, int off, int[] ids, float[] weights, int outOff) {
        RouterMath.gather(scores(logits, off), ids, weights, outOff, topK);
        RouterMath.finish(weights, outOff, topK, normTopkProb, 1e-20f, routedScaling);
    }

    private float[] scores(float[] logits, int off) {
        float[] score = new float[numExperts];
        for (int e = 0; e < numExperts; e++) {
            score[e] = (float) (1.0 / (1.0 + Math.exp(-logits[off + e])));
        }
        return score;
    }
}
