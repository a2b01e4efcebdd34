package io.routingreplay.runtime.cli.request;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.routing.RoutingLayout;

/**
 * What a request is checked against: the model's vocabulary and context length, and the deployment's cap on
 * {@code max_new_tokens}. {@code routing}: the model's routing layout where this deployment takes forced_routing and
 * prompt_logprobs ({@code generate}; it shapes forced_routing), null where it does not (the streaming job, whose
 * wire format has no fields for their results yet).
 */
public record RequestLimits(int vocabSize, int maxPositionEmbeddings, int maxNewTokensCap, RoutingLayout routing) {

    public RequestLimits(int vocabSize, int maxPositionEmbeddings, int maxNewTokensCap) {
        this(vocabSize, maxPositionEmbeddings, maxNewTokensCap, null);
    }

    public RequestLimits {
        if (vocabSize <= 0 || maxPositionEmbeddings <= 0 || maxNewTokensCap <= 0) {
            throw new IllegalArgumentException("request limits must be positive: vocab " + vocabSize
                    + ", max_position_embeddings " + maxPositionEmbeddings + ", max_new_tokens cap " + maxNewTokensCap);
        }
    }

    public static RequestLimits of(ModelConfig model, int maxNewTokensCap) {
        return new RequestLimits(model.vocabSize, model.maxPositionEmbeddings, maxNewTokensCap,
                new RoutingLayout(model.moeLayerIndices, model.topK, model.numExperts));
    }
}
