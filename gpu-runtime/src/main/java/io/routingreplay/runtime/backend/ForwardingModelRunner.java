package io.routingreplay.runtime.backend;

import io.routingreplay.runtime.config.ModelConfig;

import java.util.OptionalDouble;

/**
 * A {@link ModelRunner} that hands every call to another one: the base for decorators (a backend with one
 * capability switched off, one that fails on a given input) that override only what they change, so a capability
 * added to {@link ModelRunner} later reaches the backend through them instead of silently taking its default.
 */
public abstract class ForwardingModelRunner implements ModelRunner {
    protected final ModelRunner delegate;

    protected ForwardingModelRunner(ModelRunner delegate) {
        this.delegate = delegate;
    }

    @Override
    public ModelConfig config() {
        return delegate.config();
    }

    @Override
    public int kvBlockSize() {
        return delegate.kvBlockSize();
    }

    @Override
    public int numKvBlocks() {
        return delegate.numKvBlocks();
    }

    @Override
    public StepOutput forward(ForwardBatch batch) {
        return delegate.forward(batch);
    }

    @Override
    public boolean supportsReplayInputs() {
        return delegate.supportsReplayInputs();
    }

    @Override
    public boolean supportsPromptEndLogits() {
        return delegate.supportsPromptEndLogits();
    }

    @Override
    public long kvSwapBytesPerBlock() {
        return delegate.kvSwapBytesPerBlock();
    }

    @Override
    public KvSwapSpace openKvSwapSpace(int slots) {
        return delegate.openKvSwapSpace(slots);
    }

    @Override
    public OptionalDouble copyBandwidthGBs() {
        return delegate.copyBandwidthGBs();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
