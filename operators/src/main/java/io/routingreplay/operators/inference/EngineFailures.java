package io.routingreplay.operators.inference;

import java.util.ArrayList;
import java.util.List;

/** The words a dead letter gives for a request the engine failed on {@code inference.max-attempts} times. */
final class EngineFailures {

    private EngineFailures() {
    }

    /**
     * E.g. "the engine failed 3 times while this request was in it (inference.max-attempts = 3); last failure:
     * java.lang.IllegalStateException: CUDA error 700 ...; caused by: ...".
     */
    static String reason(int failures, int maxAttempts, String what, Throwable last) {
        return "the engine failed " + failures + (failures == 1 ? " time" : " times")
                + " while this request was in it (inference.max-attempts = " + maxAttempts + "); last failure: "
                + what + ": " + causeChain(last);
    }

    /** Every exception of the chain, outermost first, as "class: message", joined by "; caused by: ". */
    static String causeChain(Throwable t) {
        List<String> parts = new ArrayList<>();
        for (Throwable c = t; c != null && parts.size() < 8; c = c.getCause() == c ? null : c.getCause()) {
            parts.add(c.getMessage() == null ? c.getClass().getName() : c.getClass().getName() + ": " + c.getMessage());
        }
        return String.join("; caused by: ", parts);
    }
}
