package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.sampler.SamplingParams;

/** One request as the engine sees it: already tokenised. {@code rid} is the caller's id and tags every output. */
public record GenerationRequest(String rid, int[] promptTokenIds, SamplingParams params) {
}
