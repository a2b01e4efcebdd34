package io.routingreplay.runtime.sampler;

import java.util.List;

/**
 * How one request samples. {@code temperature == 0} means greedy. {@code topK <= 0} disables top-k;
 * {@code topP == 1} disables top-p. {@code seed == null} lets the engine draw a seed at admission (and keep it, so a
 * restored request continues the same stream).
 */
public record SamplingParams(int maxNewTokens, float temperature, float topP, int topK, Long seed,
                             List<Integer> stopTokenIds, boolean ignoreEos, boolean returnRoutingWeights) {

    public SamplingParams {
        stopTokenIds = stopTokenIds == null ? List.of() : List.copyOf(stopTokenIds);
    }

    public static SamplingParams greedy(int maxNewTokens) {
        return new SamplingParams(maxNewTokens, 0f, 1f, 0, null, List.of(), false, false);
    }

    public boolean isGreedy() {
        return temperature == 0f;
    }

    /**
     * Checks the values a user controls; {@code maxNewTokensCap} is the deployment's limit.
     * @return null when valid, else a reason a person understands
     */
    public String validate(int maxNewTokensCap) {
        if (maxNewTokens <= 0) {
            return "max_new_tokens must be >= 1, got " + maxNewTokens;
        }
        if (maxNewTokens > maxNewTokensCap) {
            return "max_new_tokens " + maxNewTokens + " exceeds the configured cap of " + maxNewTokensCap;
        }
        if (!(temperature >= 0f) || Float.isInfinite(temperature)) {
            return "temperature must be a finite number >= 0, got " + temperature;
        }
        if (!(topP > 0f && topP <= 1f)) {
            return "top_p must be in (0, 1], got " + topP;
        }
        if (topK < 0) {
            return "top_k must be >= 0 (0 disables it), got " + topK;
        }
        return null;
    }
}
