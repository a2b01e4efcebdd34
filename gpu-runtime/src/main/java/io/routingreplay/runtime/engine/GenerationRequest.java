package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.routing.RoutingSelection;
import io.routingreplay.runtime.sampler.SamplingParams;

/**
 * One request as the engine sees it: already tokenised. {@code rid} is the caller's id and tags every output;
 * {@code routing} says which part of the routing its result returns (the engine routes every position anyway).
 */
public record GenerationRequest(String rid, int[] promptTokenIds, SamplingParams params, RoutingSelection routing) {

    public GenerationRequest {
        routing = routing == null ? RoutingSelection.ALL : routing;
    }

    /** A request whose result returns all of its routing. */
    public GenerationRequest(String rid, int[] promptTokenIds, SamplingParams params) {
        this(rid, promptTokenIds, params, RoutingSelection.ALL);
    }
}
