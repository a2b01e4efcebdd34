package io.routingreplay.operators.inference;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.ForwardingModelRunner;
import io.routingreplay.runtime.backend.ModelRunner;
import io.routingreplay.runtime.backend.ModelRunners;
import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.backend.StepOutput;
import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.LLMEngine;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Engines that fail the way a GPU engine does, for the failure tests of the operator and the job: real CPU engines
 * on the fixture checkpoints whose backend throws a CUDA-style error at a chosen point, and engine factories that
 * throw what a native library that cannot load throws. Serializable, as the operator ships its factory.
 */
public final class FailingEngines {

    /** What the simulated device reports; a test finds it in the dead letter's reason. */
    public static final String CUDA_ERROR = "CUDA error 700 (cudaErrorIllegalAddress): an illegal memory access was "
            + "encountered";

    /** The JVM's words when a second classloader loads a native library (a Flink session cluster's restarts). */
    public static final String NATIVE_ALREADY_LOADED = "Native Library /tmp/routing-replay/libcuda_backend.so "
            + "already loaded in another classloader";

    /** Creations done by each {@link #failingFirst} factory, by id (every copy of a factory shares its count). */
    private static final Map<String, AtomicInteger> CREATIONS = new ConcurrentHashMap<>();

    private FailingEngines() {
    }

    /** Real engines whose every step fails while a sequence holding {@code token} is in the batch. */
    public static EngineFactory failingOnToken(int token) {
        return settings -> {
            EngineConfig config = settings.toEngineConfig();
            return LLMEngine.create(config, new FailingOnToken(ModelRunners.create(config), token));
        };
    }

    /** No engine can be made: the backend's native library does not load (the cause), every time. */
    public static EngineFactory neverCreated() {
        return settings -> {
            throw nativeLibraryFailure();
        };
    }

    /** The first {@code failures} engines cannot be made (as {@link #neverCreated}); later ones are real. */
    public static EngineFactory failingFirst(int failures) {
        String id = UUID.randomUUID().toString();
        return settings -> {
            int n = CREATIONS.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
            if (n <= failures) {
                throw nativeLibraryFailure();
            }
            return EngineFactory.FROM_SETTINGS.create(settings);
        };
    }

    static IllegalStateException nativeLibraryFailure() {
        return new IllegalStateException("cannot load the CUDA backend",
                new UnsatisfiedLinkError(NATIVE_ALREADY_LOADED));
    }

    /** The real backend, except that a batch with the poison token in any chunk fails as a device fault would. */
    private static final class FailingOnToken extends ForwardingModelRunner {
        private final int poison;

        FailingOnToken(ModelRunner real, int poison) {
            super(real);
            this.poison = poison;
        }

        @Override
        public StepOutput forward(ForwardBatch batch) {
            for (SeqChunk c : batch.chunks()) {
                for (int t : c.tokens()) {
                    if (t == poison) {
                        throw new IllegalStateException(CUDA_ERROR + " [simulated: token " + poison
                                + " in the batch]");
                    }
                }
            }
            return delegate.forward(batch);
        }
    }
}
