package io.routingreplay.runtime.model;

import io.routingreplay.runtime.config.ModelConfig;

/** Rotary position embedding parameters shared by every backend (the default RoPE of all three families). */
public final class Rope {
    private Rope() {
    }

    /**
     * inv_freq[i] = 1 / theta^(2i / head_dim) for i in [0, head_dim/2), computed as transformers does (float32
     * exponent, float32 power, reciprocal), so every backend rotates with the same bits.
     */
    public static float[] inverseFrequencies(ModelConfig c) {
        float[] f = new float[c.headDim / 2];
        for (int i = 0; i < f.length; i++) {
            float exponent = (float) (2 * i) / c.headDim;
            f[i] = (float) (1.0 / (float) Math.pow(c.ropeTheta, exponent));
        }
        return f;
    }
}
