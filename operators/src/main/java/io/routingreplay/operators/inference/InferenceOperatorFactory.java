package io.routingreplay.operators.inference;

import io.routingreplay.schemas.PromptBatch;
import io.routingreplay.schemas.TokenRoutingEvent;
import org.apache.flink.streaming.api.operators.AbstractStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.OneInputStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.StreamOperator;
import org.apache.flink.streaming.api.operators.StreamOperatorParameters;

/**
 * Creates the {@link InferenceOperator} with its task's mailbox executor. Use with
 * {@code stream.transform("inference", typeInfo, factory)}.
 */
public final class InferenceOperatorFactory extends AbstractStreamOperatorFactory<TokenRoutingEvent>
        implements OneInputStreamOperatorFactory<PromptBatch, TokenRoutingEvent> {

    private static final long serialVersionUID = 1L;

    private final EngineSettings settings;
    private final int maxInFlight;
    private final int maxPendingSteps;
    private final int maxAttempts;
    private final EngineFactory engines;

    /** The production engine ({@link EngineFactory#FROM_SETTINGS}). */
    public InferenceOperatorFactory(EngineSettings settings, int maxInFlight, int maxPendingSteps, int maxAttempts) {
        this(settings, maxInFlight, maxPendingSteps, maxAttempts, EngineFactory.FROM_SETTINGS);
    }

    /**
     * @param maxInFlight     most admitted, unfinished requests per subtask (then the operator backpressures)
     * @param maxPendingSteps most engine steps computed but not yet emitted (then the engine waits)
     * @param maxAttempts     engine failures a request may be in before it is dead-lettered
     *                        ({@code inference.max-attempts})
     * @param engines         how each subtask makes its engine (tests pass engines that fail)
     */
    public InferenceOperatorFactory(EngineSettings settings, int maxInFlight, int maxPendingSteps, int maxAttempts,
                                    EngineFactory engines) {
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("max in-flight requests per subtask must be >= 1, got " + maxInFlight);
        }
        if (maxPendingSteps < 1) {
            throw new IllegalArgumentException("max pending engine steps must be >= 1, got " + maxPendingSteps);
        }
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("inference.max-attempts must be >= 1, got " + maxAttempts);
        }
        this.settings = settings;
        this.maxInFlight = maxInFlight;
        this.maxPendingSteps = maxPendingSteps;
        this.maxAttempts = maxAttempts;
        this.engines = engines;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T extends StreamOperator<TokenRoutingEvent>> T createStreamOperator(
            StreamOperatorParameters<TokenRoutingEvent> parameters) {
        return (T) new InferenceOperator(parameters, settings, maxInFlight, maxPendingSteps, maxAttempts, engines);
    }

    @Override
    public Class<? extends StreamOperator> getStreamOperatorClass(ClassLoader classLoader) {
        return InferenceOperator.class;
    }
}
