package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.model.Rope;

/** cos and sin of every step token's position at every rotary frequency: [T, dim/2] each. */
final class RopeTable {
    final int half;
    final float[] cos;
    final float[] sin;

    RopeTable(Rope rope, float[] invFreq, int[] pos, int T) {
        half = invFreq.length;
        cos = new float[T * half];
        sin = new float[T * half];
        float scale = (float) rope.attentionFactor();
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < half; i++) {
                float f = pos[t] * invFreq[i];
                cos[t * half + i] = (float) Math.cos(f);
                sin[t * half + i] = (float) Math.sin(f);
                if (scale != 1f) {   // YaRN's attention factor, applied to cos and sin as transformers does
                    cos[t * half + i] *= scale;
                    sin[t * half + i] *= scale;
                }
            }
        }
    }
}
