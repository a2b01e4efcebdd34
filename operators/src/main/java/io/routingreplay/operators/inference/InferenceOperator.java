package io.routingreplay.operators.inference;

import io.routingreplay.operators.metrics.InferenceMetrics;
import io.routingreplay.operators.validation.DeadLetters;
import io.routingreplay.runtime.engine.EngineStats;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.engine.StepEvent;
import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.PromptBatch;
import io.routingreplay.schemas.RequestHeader;
import io.routingreplay.schemas.RoutingLayoutInfo;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.core.io.SimpleVersionedSerialization;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.StreamOperatorParameters;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * One engine per subtask: admits micro-batches into the engine's continuous batching and emits a
 * {@link TokenRoutingEvent} per request per step, tagged by rid, as the engine produces them.
 *
 * <p>Threads: the engine runs on an {@link EngineLoop} thread; its events come back as mails on this operator's
 * mailbox (as Flink's AsyncWaitOperator does), so everything below except the loop runs on the task thread, and
 * the task thread is never blocked by generation.
 *
 * <p>State: {@link #inFlight} records, per admitted unfinished request, exactly what has been emitted downstream
 * (it is updated in the same mail that emits). A checkpoint stores it, so it agrees with the events that went out
 * before the barrier; steps computed but not yet emitted are not in it and are recomputed after a restore, where
 * each request is re-admitted with {@link LLMEngine#resume} and continues at the next position: the events before
 * and after the restore form one contiguous record.
 */
public class InferenceOperator extends AbstractStreamOperator<TokenRoutingEvent>
        implements OneInputStreamOperator<PromptBatch, TokenRoutingEvent>, BoundedOneInput {

    private static final long serialVersionUID = 1L;
    static final String STATE_NAME = "in-flight-requests";
    public static final String STAGE = "inference";

    private final EngineSettings settings;
    private final int maxInFlight;
    private final int maxPendingSteps;
    private final transient MailboxExecutor mailbox;

    private transient InFlightRequestSerializer serializer;
    private transient ListState<byte[]> checkpointed;
    private transient List<InFlightRequest> restored;
    private transient Map<String, InFlightRequest> inFlight;
    private transient LLMEngine engine;
    private transient EngineLoop loop;
    private transient RoutingLayoutInfo layoutInfo;
    private transient SecureRandom seeds;
    private transient InferenceMetrics metrics;

    InferenceOperator(StreamOperatorParameters<TokenRoutingEvent> parameters, EngineSettings settings,
                      int maxInFlight, int maxPendingSteps) {
        super(parameters);
        this.settings = settings;
        this.maxInFlight = maxInFlight;
        this.maxPendingSteps = maxPendingSteps;
        this.mailbox = parameters.getMailboxExecutor();
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        serializer = new InFlightRequestSerializer();
        inFlight = new LinkedHashMap<>();
        restored = new ArrayList<>();
        checkpointed = context.getOperatorStateStore().getListState(
                new ListStateDescriptor<>(STATE_NAME, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        if (context.isRestored()) {
            for (byte[] bytes : checkpointed.get()) {
                restored.add(SimpleVersionedSerialization.readVersionAndDeSerialize(serializer, bytes));
            }
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        seeds = new SecureRandom();
        metrics = new InferenceMetrics(getMetricGroup());
        engine = LLMEngine.create(settings.toEngineConfig());
        layoutInfo = layoutInfo(engine.routingLayout());
        loop = new EngineLoop(engine, new MailboxListener(), maxPendingSteps,
                "engine-loop-" + getRuntimeContext().getTaskInfo().getTaskNameWithSubtasks());
        loop.start();
        for (InFlightRequest f : restored) {
            f.attempt++;
            inFlight.put(f.rid(), f);
            metrics.onRequestAdmitted();
            loop.admit(toGenerationRequest(f), f.outputsSoFar(), f.logprobsSoFar());
        }
        restored = null;
    }

    @Override
    public void processElement(StreamRecord<PromptBatch> element) throws Exception {
        for (InferenceRequest r : element.getValue().getRequests()) {
            admit(r);
            // Backpressure: stop taking input while the subtask holds its cap of unfinished requests; yielding
            // lets the engine's mails (and so finished requests) through meanwhile.
            while (inFlight.size() >= maxInFlight) {
                mailbox.yield();
            }
        }
    }

    private void admit(InferenceRequest r) {
        long now = getProcessingTimeService().getCurrentProcessingTime();
        if (inFlight.containsKey(r.getRid())) {
            deadLetter(r, "rid '" + r.getRid() + "' is already being generated on this subtask; the second request "
                    + "with that rid is not answered", now);
            return;
        }
        long seed = r.getSeed() != null ? r.getSeed() : seeds.nextLong();
        InFlightRequest f = new InFlightRequest(r, seed, now);
        inFlight.put(f.rid(), f);
        metrics.onRequestAdmitted();
        loop.admit(toGenerationRequest(f), new int[0], new float[0]);
    }

    /** Task thread: emits one step's events and records them in the in-flight state. */
    private void emit(List<StepEvent> events) {
        long now = getProcessingTimeService().getCurrentProcessingTime();
        for (StepEvent e : events) {
            InFlightRequest f = inFlight.get(e.rid());
            if (f != null) {
                emit(f, e, now);
            }
        }
    }

    private void emit(InFlightRequest f, StepEvent e, long now) {
        int per = engine.routingLayout().bytesPerToken();
        int first = e.firstPosition();
        int count = e.numRoutedTokens();
        byte[] ids = e.routingIds();
        float[] weights = e.routingWeights();
        if (first < f.nextPosition) {
            // After a restore the engine may re-emit prefill positions already sent before the checkpoint.
            int skip = Math.min(f.nextPosition - first, count);
            int idsPer = engine.routingLayout().idsPerToken();
            ids = Arrays.copyOfRange(ids, skip * per, count * per);
            weights = weights == null ? null : Arrays.copyOfRange(weights, skip * idsPer, count * idsPer);
            first += skip;
            count -= skip;
        }
        boolean sampled = e.sampledToken() >= 0;
        if (count == 0 && !sampled && !e.isFinal()) {
            return;
        }
        if ((count > 0 && first != f.nextPosition) || (sampled && e.outputIndex() != f.numOutputs)) {
            // An engine bug; it costs this request only.
            loop.abort(f.rid());
            inFlight.remove(f.rid());
            metrics.onRequestDropped();
            deadLetter(f.request, "internal error: engine produced position " + first + " / output "
                    + e.outputIndex() + " but " + f.nextPosition + " / " + f.numOutputs + " were expected", now);
            return;
        }
        TokenRoutingEvent out = TokenRoutingEvent.newBuilder()
                .setRid(f.rid())
                .setAttempt(f.attempt)
                .setSeq(f.nextSeq)
                .setFirstPosition(first)
                .setNumRoutedTokens(count)
                .setRoutingIds(ByteBuffer.wrap(ids))
                .setRoutingWeights(weights == null ? null : toList(weights))
                .setSampledToken(e.sampledToken())
                .setLogprob(e.logprob())
                .setOutputIndex(e.outputIndex())
                .setFinishReason(e.finishReason() == null ? null : e.finishReason().wire())
                .setEmittedAt(now)
                .setHeader(f.nextSeq == 0 ? header(f) : null)
                .build();
        output.collect(new StreamRecord<>(out, now));
        f.nextSeq++;
        f.nextPosition = first + count;
        if (sampled) {
            if (f.numOutputs == 0) {
                f.firstTokenAt = now;
            }
            f.addOutput(e.sampledToken(), e.logprob());
        }
        if (e.isFinal()) {
            inFlight.remove(f.rid());
            metrics.onRequestFinished(now - f.admittedAt);
        }
    }

    private RequestHeader header(InFlightRequest f) {
        InferenceRequest r = f.request;
        return RequestHeader.newBuilder()
                .setModel(r.getModel())
                .setPromptTokenIds(r.getPromptTokenIds())
                .setMaxNewTokens(r.getMaxNewTokens())
                .setSeed(f.seed)
                .setLayout(layoutInfo)
                .setSubmittedAt(r.getSubmittedAt())
                .setAdmittedAt(f.admittedAt)
                .setMetadata(new HashMap<>(r.getMetadata()))
                .build();
    }

    private void deadLetter(InferenceRequest r, String reason, long now) {
        DeadLetter d = DeadLetter.newBuilder()
                .setRid(r.getRid())
                .setReason(reason)
                .setStage(STAGE)
                .setSourceTopic(r.getSourceTopic())
                .setSourcePartition(r.getSourcePartition())
                .setSourceOffset(r.getSourceOffset())
                .setFailedAt(now)
                .build();
        output.collect(DeadLetters.TAG, new StreamRecord<>(d, now));
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        List<byte[]> snapshot = new ArrayList<>(inFlight.size());
        for (InFlightRequest f : inFlight.values()) {
            snapshot.add(SimpleVersionedSerialization.writeVersionAndSerialize(serializer, f));
        }
        checkpointed.update(snapshot);
    }

    /** Bounded input: finish every admitted request before the operator finishes. */
    @Override
    public void endInput() throws Exception {
        while (!inFlight.isEmpty()) {
            mailbox.yield();
        }
    }

    /** Requests admitted and not finished, as emitted so far (for tests and metrics). */
    public int numInFlight() {
        return inFlight.size();
    }

    @Override
    public void close() throws Exception {
        try {
            if (loop != null) {
                loop.stop();
            }
            if (engine != null) {
                engine.close();
            }
        } finally {
            super.close();
        }
    }

    private static GenerationRequest toGenerationRequest(InFlightRequest f) {
        InferenceRequest r = f.request;
        SamplingParams p = new SamplingParams(r.getMaxNewTokens(), r.getTemperature(), r.getTopP(), r.getTopK(),
                f.seed, r.getStopTokenIds(), r.getIgnoreEos(), r.getReturnRoutingWeights());
        return new GenerationRequest(r.getRid(), toArray(r.getPromptTokenIds()), p);
    }

    static RoutingLayoutInfo layoutInfo(RoutingLayout l) {
        List<Integer> layers = new ArrayList<>();
        for (int i : l.moeLayerIndices()) {
            layers.add(i);
        }
        return RoutingLayoutInfo.newBuilder().setMoeLayerIndices(layers).setTopK(l.topK())
                .setNumExperts(l.numExperts()).setDtype(l.dtype().wire).build();
    }

    private static int[] toArray(List<Integer> list) {
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(i);
        }
        return out;
    }

    private static List<Float> toList(float[] a) {
        List<Float> out = new ArrayList<>(a.length);
        for (float v : a) {
            out.add(v);
        }
        return out;
    }

    /** Engine thread → task thread, through the mailbox. */
    private final class MailboxListener implements EngineLoop.Listener {
        @Override
        public void onEvents(List<StepEvent> events, EngineStats stats) {
            post(() -> {
                try {
                    metrics.onStep(stats);
                    emit(events);
                } finally {
                    loop.stepEmitted();
                }
            }, "emit engine step");
        }

        @Override
        public void onRejected(String rid, String reason) {
            post(() -> {
                InFlightRequest f = inFlight.remove(rid);
                if (f != null) {
                    metrics.onRequestDropped();
                    deadLetter(f.request, reason,
                            getProcessingTimeService().getCurrentProcessingTime());
                }
            }, "reject request");
        }

        @Override
        public void onFailure(Throwable t) {
            post(() -> {
                throw new IllegalStateException("the engine loop failed; the job restarts from its last checkpoint", t);
            }, "engine failure");
        }

        private void post(org.apache.flink.util.function.ThrowingRunnable<? extends Exception> mail, String name) {
            try {
                mailbox.execute(mail, name);
            } catch (RejectedExecutionException closing) {
                // The task is shutting down; what was not emitted is recomputed after a restore.
            }
        }
    }
}
