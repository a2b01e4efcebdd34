package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.StepOutput;

/** Sees each forward step the engine runs, on the engine's thread, after the backend returned. */
@FunctionalInterface
public interface StepObserver {
    void onStep(ForwardBatch batch, StepOutput out);
}
