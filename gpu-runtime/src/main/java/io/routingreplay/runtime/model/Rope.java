package io.routingreplay.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.config.ModelConfig;

import java.util.Set;

/**
 * Rotary position embedding of one checkpoint: the default RoPE or YaRN, read from either spelling (the Hub's
 * top-level {@code rope_theta} + {@code rope_scaling}, transformers 5's {@code rope_parameters}). Frequencies are
 * computed as transformers computes them (float32 steps), so every backend rotates with the same bits.
 *
 * @param dim             rotated width per head (head_dim, or DeepSeek's qk_rope_head_dim)
 * @param type            "default" or "yarn"
 * @param factor          YaRN's context scaling factor (1 for default)
 * @param originalMaxPositions YaRN's pre-training context
 * @param attentionFactor what cos and sin are multiplied by (YaRN's mscale ratio; 1 for default)
 * @param mscaleAllDim    DeepSeek's {@code mscale_all_dim} (0 when absent): MLA squares its mscale into the softmax scale
 */
public record Rope(double theta, int dim, String type, double factor, int originalMaxPositions, double betaFast,
                   double betaSlow, double attentionFactor, double mscaleAllDim, boolean truncate) {

    public static final String DEFAULT = "default";
    public static final String YARN = "yarn";

    /** Reads theta and scaling for a rotary width of {@code dim}; rope types outside {@code accepted} are refused. */
    public static Rope read(JsonNode c, int dim, int maxPositions, Set<String> accepted) {
        JsonNode params = c.hasNonNull("rope_parameters") ? c.get("rope_parameters") : null;
        JsonNode scaling = c.hasNonNull("rope_scaling") ? c.get("rope_scaling") : params;
        double theta = 10000.0;
        if (c.hasNonNull("rope_theta")) {
            theta = c.get("rope_theta").asDouble();
        } else if (params != null && params.hasNonNull("rope_theta")) {
            theta = params.get("rope_theta").asDouble();
        }
        String type = DEFAULT;
        if (scaling != null) {
            if (scaling.hasNonNull("rope_type")) {
                type = scaling.get("rope_type").asText();
            } else if (scaling.hasNonNull("type")) {
                type = scaling.get("type").asText();
            }
        }
        if (!accepted.contains(type)) {
            throw new IllegalArgumentException("unsupported rope_type '" + type + "' in config.json; this "
                    + "architecture implements " + accepted);
        }
        if (DEFAULT.equals(type)) {
            return new Rope(theta, dim, DEFAULT, 1, maxPositions, 32, 1, 1, 0, true);
        }
        int original = c.hasNonNull("original_max_position_embeddings")
                ? c.get("original_max_position_embeddings").asInt()
                : scaling.hasNonNull("original_max_position_embeddings")
                ? scaling.get("original_max_position_embeddings").asInt() : maxPositions;
        double factor = scaling.hasNonNull("factor") ? scaling.get("factor").asDouble()
                : (double) maxPositions / original;
        double mscale = scaling.hasNonNull("mscale") ? scaling.get("mscale").asDouble() : 0;
        double mscaleAllDim = scaling.hasNonNull("mscale_all_dim") ? scaling.get("mscale_all_dim").asDouble() : 0;
        double attentionFactor;
        if (scaling.hasNonNull("attention_factor")) {
            attentionFactor = scaling.get("attention_factor").asDouble();
        } else if (mscale != 0 && mscaleAllDim != 0) {
            attentionFactor = yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim);
        } else {
            attentionFactor = yarnMscale(factor, 1);
        }
        double betaFast = scaling.hasNonNull("beta_fast") && scaling.get("beta_fast").asDouble() != 0
                ? scaling.get("beta_fast").asDouble() : 32;
        double betaSlow = scaling.hasNonNull("beta_slow") && scaling.get("beta_slow").asDouble() != 0
                ? scaling.get("beta_slow").asDouble() : 1;
        boolean truncate = !scaling.hasNonNull("truncate") || scaling.get("truncate").asBoolean();
        return new Rope(theta, dim, YARN, factor, original, betaFast, betaSlow, attentionFactor, mscaleAllDim,
                truncate);
    }

    /** YaRN's magnitude correction: 0.1 · m · ln(scale) + 1 (1 for scale ≤ 1). */
    public static double yarnMscale(double scale, double m) {
        return scale <= 1 ? 1.0 : 0.1 * m * Math.log(scale) + 1.0;
    }

    /** The GQA model's frequencies (the CUDA backend's entry point, rotary width = head_dim). */
    public static float[] inverseFrequencies(ModelConfig c) {
        return c.rope.inverseFrequencies();
    }

    /**
     * inv_freq[i] = 1 / theta^(2i / dim) for i in [0, dim/2) (float32 exponent, float32 power, reciprocal); YaRN
     * blends it with inv_freq / factor along transformers' linear ramp between the correction dimensions.
     */
    public float[] inverseFrequencies() {
        int half = dim / 2;
        float[] f = new float[half];
        float[] pos = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / dim;
            pos[i] = (float) Math.pow(theta, exponent);
            f[i] = (float) (1.0 / pos[i]);
        }
        if (DEFAULT.equals(type)) {
            return f;
        }
        double low = correctionDim(betaFast), high = correctionDim(betaSlow);
        if (truncate) {
            low = Math.floor(low);
            high = Math.ceil(high);
        }
        low = Math.max(low, 0);
        high = Math.min(high, dim - 1);
        if (low == high) {
            high += 0.001;
        }
        float lo = (float) low, span = (float) (high - low);
        for (int i = 0; i < half; i++) {
            float interpolation = (float) (1.0 / ((float) factor * pos[i]));
            float ramp = Math.min(1f, Math.max(0f, (i - lo) / span));
            float extrapolationFactor = 1f - ramp;
            f[i] = interpolation * (1f - extrapolationFactor) + f[i] * extrapolationFactor;
        }
        return f;
    }

    private double correctionDim(double rotations) {
        return (dim * Math.log(originalMaxPositions / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
    }
}
