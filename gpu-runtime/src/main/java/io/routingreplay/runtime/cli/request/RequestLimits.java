package io.routingreplay.runtime.cli.request;

import io.routingreplay.runtime.config.ModelConfig;

/**
 * What a request is checked against: the model's vocabulary and context length, and the deployment's cap on
 * {@code max_new_tokens}.
 */
public record RequestLimits(int vocabSize, int maxPositionEmbeddings, int maxNewTokensCap) {

    public RequestLimits {
        if (vocabSize <= 0 || maxPositionEmbeddings <= 0 || maxNewTokensCap <= 0) {
            throw new IllegalArgumentException("request limits must be positive: vocab " + vocabSize
                    + ", max_position_embeddings " + maxPositionEmbeddings + ", max_new_tokens cap " + maxNewTokensCap);
        }
    }

    public static RequestLimits of(ModelConfig model, int maxNewTokensCap) {
        return new RequestLimits(model.vocabSize, model.maxPositionEmbeddings, maxNewTokensCap);
    }
}
