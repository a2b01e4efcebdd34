package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.routing.ForcedRouting;
import io.routingreplay.runtime.routing.RoutingSelection;
import io.routingreplay.runtime.sampler.SamplingParams;

/**
 * One request as the engine sees it: already tokenised. {@code rid} is the caller's id and tags every output;
 * {@code routing} says which part of the routing its result returns (the engine routes every position anyway).
 *
 * @param forcedRouting  routing replay: the experts of routed positions 0 .. m − 1 (null: all routed freely)
 * @param promptLogprobs scoring: also return the log-probability of every prompt token after the first given its
 *                       prefix (with {@code max_new_tokens} 0 the request only scores)
 */
public record GenerationRequest(String rid, int[] promptTokenIds, SamplingParams params, RoutingSelection routing,
                                ForcedRouting forcedRouting, boolean promptLogprobs) {

    public GenerationRequest {
        routing = routing == null ? RoutingSelection.ALL : routing;
    }

    /** A request whose result returns all of its routing. */
    public GenerationRequest(String rid, int[] promptTokenIds, SamplingParams params) {
        this(rid, promptTokenIds, params, RoutingSelection.ALL);
    }

    /** A request routed freely, with no scoring. */
    public GenerationRequest(String rid, int[] promptTokenIds, SamplingParams params, RoutingSelection routing) {
        this(rid, promptTokenIds, params, routing, null, false);
    }

    /** Scoring only: {@code max_new_tokens} 0. */
    public boolean scoresOnly() {
        return params.maxNewTokens() == 0;
    }

    /** Why this scoring-only request cannot be scored (a 1-token prompt), or null: the validator's and the engine's. */
    public String scoringProblem() {
        return scoresOnly() && promptTokenIds.length < 2
                ? "scoring (max_new_tokens 0 with prompt_logprobs) needs a prompt of at least 2 tokens: the first "
                + "token has no prefix to score it by" : null;
    }
}
