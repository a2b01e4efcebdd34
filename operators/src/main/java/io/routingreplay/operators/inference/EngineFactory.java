package io.routingreplay.operators.inference;

import io.routingreplay.runtime.engine.LLMEngine;
import java.io.Serializable;

/**
 * How an inference subtask makes its engine (in {@code open()}, and again after the engine failed). Shipped to the
 * task managers with the operator, so implementations are serializable. Production uses {@link #FROM_SETTINGS};
 * tests pass engines that fail at chosen points.
 */
@FunctionalInterface
public interface EngineFactory extends Serializable {

    /** The engine the settings describe, as {@code generate} builds it. */
    EngineFactory FROM_SETTINGS = settings -> LLMEngine.create(settings.toEngineConfig());

    /**
     * @throws Exception (or an Error such as {@link UnsatisfiedLinkError}) when the engine cannot be made; the
     *                   operator charges it to the requests waiting and tries again, up to {@code
     *                   inference.max-attempts}
     */
    LLMEngine create(EngineSettings settings) throws Exception;
}
