package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.routing.RoutingRecord;

/** A finished request: its tokens, their logprobs, why it stopped and its complete routing. */
public record GenerationResult(String rid, int[] promptTokenIds, int[] outputTokenIds, float[] outputLogprobs,
                               FinishReason finishReason, RoutingRecord routing) {
}
