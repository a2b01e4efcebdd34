package io.routingreplay.runtime.cli.request;

/**
 * The fields of one generation request as a user sends them (JSONL line, Avro prompt event), before validation.
 * A null field was not given and takes its default.
 *
 * @param promptText       text to tokenise with the model's tokenizer; exactly one of this and promptTokenIds
 * @param promptTokenIds   already tokenised prompt
 * @param seed             null: the engine draws one
 * @param stopTokenIds     extra ids that end generation (EOS ids end it unless ignoreEos)
 * @param routingStart     the first routed position the result's routing holds (default 0: all)
 * @param returnRouting    false: the result holds no routing (default true)
 * @param forcedRouting    routing replay: the ids of positions 0..m−1 as sent (nested lists [m][moe_layer][k]),
 *                         or null
 * @param forcedRoutingNpy routing replay: the same as a .npy file path (as generate --npy-dir writes), or null
 * @param promptLogprobs   scoring: return every prompt token's logprob given its prefix (default false)
 */
public record RequestFields(String rid, String promptText, int[] promptTokenIds, Integer maxNewTokens,
                            Float temperature, Float topP, Integer topK, Long seed, int[] stopTokenIds,
                            Boolean ignoreEos, Boolean returnRoutingWeights, Integer routingStart,
                            Boolean returnRouting, NestedIds forcedRouting, String forcedRoutingNpy,
                            Boolean promptLogprobs) {

    /** A request with no replay inputs (the streaming job's prompt events carry none yet). */
    public RequestFields(String rid, String promptText, int[] promptTokenIds, Integer maxNewTokens, Float temperature,
                         Float topP, Integer topK, Long seed, int[] stopTokenIds, Boolean ignoreEos,
                         Boolean returnRoutingWeights, Integer routingStart, Boolean returnRouting) {
        this(rid, promptText, promptTokenIds, maxNewTokens, temperature, topP, topK, seed, stopTokenIds, ignoreEos,
                returnRoutingWeights, routingStart, returnRouting, null, null, null);
    }

    /** A rectangular 3-level list of integers: {@code shape} [m, moe_layers, k] and its values, row-major. */
    public record NestedIds(int[] shape, int[] values) {
    }

    /** Defaults follow vLLM's {@code SamplingParams}: 16 new tokens, temperature 1, no top-p/top-k cut. */
    public static final int DEFAULT_MAX_NEW_TOKENS = 16;
    public static final float DEFAULT_TEMPERATURE = 1.0f;
    public static final float DEFAULT_TOP_P = 1.0f;
    public static final int DEFAULT_TOP_K = 0;
}
