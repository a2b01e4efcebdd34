package io.routingreplay.runtime.scheduler;

import io.routingreplay.runtime.engine.Sequence;

/** The next {@code numTokens} uncomputed tokens of {@code seq} run in this step. */
public record ScheduledChunk(Sequence seq, int numTokens) {
}
