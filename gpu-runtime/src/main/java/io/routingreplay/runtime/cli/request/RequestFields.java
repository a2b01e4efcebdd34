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
 */
public record RequestFields(String rid, String promptText, int[] promptTokenIds, Integer maxNewTokens,
                            Float temperature, Float topP, Integer topK, Long seed, int[] stopTokenIds,
                            Boolean ignoreEos, Boolean returnRoutingWeights, Integer routingStart,
                            Boolean returnRouting) {

    /** Defaults follow vLLM's {@code SamplingParams}: 16 new tokens, temperature 1, no top-p/top-k cut. */
    public static final int DEFAULT_MAX_NEW_TOKENS = 16;
    public static final float DEFAULT_TEMPERATURE = 1.0f;
    public static final float DEFAULT_TOP_P = 1.0f;
    public static final int DEFAULT_TOP_K = 0;
}
