package io.routingreplay.runtime.backend;

import io.routingreplay.runtime.config.ModelConfig;

import java.util.OptionalDouble;

/**
 * A backend: turns a batch into sampled tokens and routing. It owns the K/V storage
 * ({@link #numKvBlocks()} blocks of {@link #kvBlockSize()} positions); the engine's block manager decides which
 * physical blocks each sequence uses.
 *
 * <p>Contract every backend keeps: a sequence's outputs (tokens, logprobs, routing) do not depend on which other
 * sequences share the batch nor on how its prompt is split into chunks.
 */
public interface ModelRunner extends AutoCloseable {
    ModelConfig config();

    int kvBlockSize();

    int numKvBlocks();

    StepOutput forward(ForwardBatch batch);

    /**
     * Whether {@link #forward} honours {@link SeqChunk#forcedIds()} and {@link SeqChunk#scoreTokens()} (routing
     * replay and scoring). The engine rejects requests that need them on a backend that does not, rather than
     * silently routing freely or dropping the prompt logprobs.
     */
    default boolean supportsReplayInputs() {
        return false;
    }

    /**
     * Prompt-end logits: whether {@link #forward} honours {@link SeqChunk#keepLogits()} (returns the raw logits row a
     * chunk sampled from in {@link StepOutput#keptLogits()}) and {@link SeqChunk#sampleFrom()} (a chunk of no
     * tokens sampled from a given row with its own params, seed and index, exactly as if the row had been computed
     * in this step). With it the prefix cache serves a prompt that ends on a cached block whole, its first token
     * sampled from the row kept when that block was computed; without it (the default) the block holding the last
     * prompt position is always computed. A backend that offers it must return the very row it samples from, so a
     * token sampled from a kept row is the token the cold run samples.
     */
    default boolean supportsPromptEndLogits() {
        return false;
    }

    /**
     * Host bytes one K/V block takes in a {@link KvSwapSpace} (every layer's keys and values), or 0 when the backend
     * has no host swap tier (the default: a preempted request's positions are computed again).
     */
    default long kvSwapBytesPerBlock() {
        return 0;
    }

    /** A host swap space of {@code slots} blocks; only where {@link #kvSwapBytesPerBlock()} is positive. */
    default KvSwapSpace openKvSwapSpace(int slots) {
        throw new UnsupportedOperationException("this backend keeps no host swap space");
    }

    /** The device's measured copy bandwidth (bytes read + written per second, in GB/s), where the backend has a
     *  device to measure; the lower bound of a run's time is its bytes over it. */
    default OptionalDouble copyBandwidthGBs() {
        return OptionalDouble.empty();
    }

    @Override
    void close();
}
