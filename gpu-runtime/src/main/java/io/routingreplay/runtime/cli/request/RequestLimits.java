package io.routingreplay.runtime.cli.request;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.routing.RoutingLayout;

/**
 * What a request is checked against: the model's vocabulary and context length, and the deployment's cap on
 * {@code max_new_tokens}. {@code routing}: the model's routing layout where this deployment takes forced_routing and
 * prompt_logprobs (it shapes forced_routing), null where it does not. {@code readsLocalFiles}: whether
 * {@code forced_routing_npy} (a path) may be read: {@code generate} reads files of the machine it runs on; the
 * streaming job does not open paths its producers name (they are on another machine, and a request must not make a
 * task manager read its files), so there the ids come in the request itself.
 */
public record RequestLimits(int vocabSize, int maxPositionEmbeddings, int maxNewTokensCap, RoutingLayout routing,
                            boolean readsLocalFiles) {

    public RequestLimits(int vocabSize, int maxPositionEmbeddings, int maxNewTokensCap) {
        this(vocabSize, maxPositionEmbeddings, maxNewTokensCap, null);
    }

    public RequestLimits(int vocabSize, int maxPositionEmbeddings, int maxNewTokensCap, RoutingLayout routing) {
        this(vocabSize, maxPositionEmbeddings, maxNewTokensCap, routing, true);
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

    /** The streaming job's limits: replay inputs shaped by the model, no {@code forced_routing_npy} paths. */
    public static RequestLimits forStream(ModelConfig model, int maxNewTokensCap) {
        return new RequestLimits(model.vocabSize, model.maxPositionEmbeddings, maxNewTokensCap,
                new RoutingLayout(model.moeLayerIndices, model.topK, model.numExperts), false);
    }
}
