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
        return validate(maxNewTokensCap, false);
    }

    /**
     * As {@link #validate(int)}; {@code scoring} (the request asks for prompt_logprobs) also allows
     * {@code max_new_tokens} 0: the request only scores its prompt.
     */
    public String validate(int maxNewTokensCap, boolean scoring) {
        if (maxNewTokens < 0 || maxNewTokens == 0 && !scoring) {
            return "max_new_tokens must be >= 1, got " + maxNewTokens
                    + (maxNewTokens == 0 ? " (0 only with prompt_logprobs: scoring)" : "");
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
