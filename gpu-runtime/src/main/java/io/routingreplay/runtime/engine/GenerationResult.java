package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.routing.RoutingRecord;

/**
 * A finished request: its tokens, their logprobs, why it stopped and its routing — all of it, or from the request's
 * {@code routing_start} ({@link RoutingRecord#firstPosition()}), or null when the request asked for none
 * ({@code return_routing} false). {@code replay}: what its {@code forced_routing} / {@code prompt_logprobs}
 * produced (null when it had neither).
 */
public record GenerationResult(String rid, int[] promptTokenIds, int[] outputTokenIds, float[] outputLogprobs,
                               FinishReason finishReason, RoutingRecord routing, ReplayReport replay) {

    /** A result with no replay report. */
    public GenerationResult(String rid, int[] promptTokenIds, int[] outputTokenIds, float[] outputLogprobs,
                            FinishReason finishReason, RoutingRecord routing) {
        this(rid, promptTokenIds, outputTokenIds, outputLogprobs, finishReason, routing, null);
    }

    /** Routed positions of the request: prompt + outputs − 1 (the last output is never fed back). */
    public int numRoutedPositions() {
        return Math.max(0, promptTokenIds.length + outputTokenIds.length - 1);
    }
}
