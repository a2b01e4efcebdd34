package io.routingreplay.operators.validation;

import java.util.Map;

/**
 * A request as decoded from JSON or Avro, before any value is checked. Absent optional fields already hold the
 * defaults of the {@code PromptEvent} schema, so both encodings mean the same thing.
 *
 * @param promptText     text to tokenise, or null
 * @param promptTokenIds token ids, or null
 */
public record PromptFields(String rid, String promptText, int[] promptTokenIds, int maxNewTokens, float temperature,
                           float topP, int topK, Long seed, int[] stopTokenIds, boolean ignoreEos,
                           boolean returnRoutingWeights, String model, long submittedAt, Map<String, String> metadata) {

    /** Defaults shared with {@code PromptEvent.avsc}. */
    public static final int DEFAULT_MAX_NEW_TOKENS = 16;
    public static final float DEFAULT_TEMPERATURE = 0f;
    public static final float DEFAULT_TOP_P = 1f;
    public static final int DEFAULT_TOP_K = 0;

    public PromptFields {
        stopTokenIds = stopTokenIds == null ? new int[0] : stopTokenIds;
        metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
    }
}
