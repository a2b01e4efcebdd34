package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.StepOutput;

/** Sees each forward step the engine runs, on the engine's thread, after the backend returned. */
@FunctionalInterface
public interface StepObserver {
    /**
     * @param forwardNanos wall time of the backend's forward call (the step's kernels and its copies, as the host
     *                     waited for them), without the engine's scheduling, swaps and post-processing
     */
    void onStep(ForwardBatch batch, StepOutput out, long forwardNanos);
}
