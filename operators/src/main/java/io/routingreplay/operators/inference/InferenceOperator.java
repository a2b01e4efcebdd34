package io.routingreplay.operators.inference;

import io.routingreplay.operators.metrics.InferenceMetrics;
import io.routingreplay.operators.results.ReplayReports;
import io.routingreplay.operators.validation.DeadLetters;
import io.routingreplay.runtime.engine.EngineStats;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.engine.StepEvent;
import io.routingreplay.runtime.routing.ForcedRouting;
import io.routingreplay.runtime.routing.RoutingRecord;
import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingSelection;
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
 *
 * <p>Failures: when the engine fails (an exception from a step: a CUDA error, an engine bug) or cannot be made (a
 * native library that does not load), the task does not fail. Each request that was in the engine is charged one
 * failure ({@code engine_failures}, kept in the checkpoint), a new engine is made and the requests continue from
 * what was emitted, like after a restore. A request charged {@code maxAttempts} times is dead-lettered with the
 * failure's cause chain instead of being tried again, so a request that breaks the engine every time cannot make
 * the job loop. To keep the others out of it: a failure is charged only to the requests that emitted nothing since
 * they went into this engine (all of them if every one did), and requests charged before (suspects) go back into
 * the engine one at a time, beside the uncharged ones, each once the previous one emitted an event (got past the
 * step it failed in). A request that breaks the engine again so takes only itself to its limit.
 */
public class InferenceOperator extends AbstractStreamOperator<TokenRoutingEvent>
        implements OneInputStreamOperator<PromptBatch, TokenRoutingEvent>, BoundedOneInput {

    private static final long serialVersionUID = 1L;
    static final String STATE_NAME = "in-flight-requests";
    public static final String STAGE = "inference";

    private final EngineSettings settings;
    private final int maxInFlight;
    private final int maxPendingSteps;
    private final int maxAttempts;
    private final EngineFactory engines;
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
    /** The rid of the one suspect (a request charged an engine failure before) the engine holds; null if none. */
    private transient String probation;

    InferenceOperator(StreamOperatorParameters<TokenRoutingEvent> parameters, EngineSettings settings,
                      int maxInFlight, int maxPendingSteps, int maxAttempts, EngineFactory engines) {
        super(parameters);
        this.settings = settings;
        this.maxInFlight = maxInFlight;
        this.maxPendingSteps = maxPendingSteps;
        this.maxAttempts = maxAttempts;
        this.engines = engines;
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
        for (InFlightRequest f : restored) {
            f.attempt++;
            inFlight.put(f.rid(), f);
            metrics.onRequestAdmitted();
        }
        restored = null;
        startEngine();
    }

    @Override
    public void processElement(StreamRecord<PromptBatch> element) throws Exception {
        for (InferenceRequest r : element.getValue().getRequests()) {
            admit(r);
            // Backpressure: stop taking input while the subtask holds its cap of unfinished requests; yielding
            // lets the engine's mails (and so finished requests) through meanwhile.
            while (inFlight.size() >= maxInFlight) {
                if (loop == null) {
                    startEngine();
                } else {
                    mailbox.yield();
                }
            }
        }
        if (loop == null && !inFlight.isEmpty()) {
            startEngine();
        }
    }

    /**
     * Task thread: makes the engine and gives it the in-flight requests (suspects one at a time). Each attempt that
     * cannot make it is charged to every in-flight request, so this returns once there is an engine or no request
     * is left waiting for one; with none waiting, the next admitted request tries again.
     */
    private void startEngine() {
        while (loop == null) {
            LLMEngine created;
            try {
                created = engines.create(settings);
            } catch (Throwable t) {
                // Errors included: a native library that does not load is an UnsatisfiedLinkError.
                LOG.warn("The inference engine could not be created ({} requests waiting for it)", inFlight.size(), t);
                metrics.onEngineFailure();
                charge(new ArrayList<>(inFlight.values()), "the engine could not be created", t);
                if (inFlight.isEmpty()) {
                    return;
                }
                continue;
            }
            engine = created;
            layoutInfo = layoutInfo(engine.routingLayout());
            MailboxListener listener = new MailboxListener();
            loop = new EngineLoop(engine, listener, maxPendingSteps,
                    "engine-loop-" + getRuntimeContext().getTaskInfo().getTaskNameWithSubtasks());
            listener.loop = loop;
            loop.start();
            probation = null;
            for (InFlightRequest f : inFlight.values()) {
                if (f.engineFailures() == 0) {
                    toEngine(f);
                }
            }
            admitNextSuspect();
        }
    }

    /**
     * Task thread: the engine thread died. Charged are the requests in it that emitted nothing since they went in
     * (a request that fails the engine fails it again before its next event), or all in it when each emitted.
     */
    private void onEngineFailure(Throwable t) {
        LOG.warn("The inference engine failed; it is made again and its requests continue from what was emitted", t);
        metrics.onEngineFailure();
        stopEngine();
        List<InFlightRequest> inIt = new ArrayList<>();
        List<InFlightRequest> fresh = new ArrayList<>();
        for (InFlightRequest f : inFlight.values()) {
            if (f.inEngine) {
                f.attempt++; // it resumes in the next engine
                inIt.add(f);
                if (!f.progressed) {
                    fresh.add(f);
                }
            }
            f.inEngine = false;
        }
        charge(fresh.isEmpty() ? inIt : fresh, "the engine failed", t);
        if (!inFlight.isEmpty()) {
            startEngine();
        }
    }

    /** One engine failure for each of {@code requests}: those at the limit become dead letters, the others wait. */
    private void charge(List<InFlightRequest> requests, String what, Throwable cause) {
        long now = getProcessingTimeService().getCurrentProcessingTime();
        for (InFlightRequest f : requests) {
            f.inEngine = false;
            f.chargeEngineFailure();
            if (f.engineFailures() >= maxAttempts) {
                remove(f);
                metrics.onRequestDropped();
                deadLetter(f.request, EngineFailures.reason(f.engineFailures(), maxAttempts, what, cause), now);
            }
        }
    }

    /** Gives {@code f} to the engine unless it is a suspect and another suspect is on probation. */
    private void offer(InFlightRequest f) {
        if (loop == null) {
            return; // startEngine gives it to the next engine
        }
        if (f.engineFailures() == 0) {
            toEngine(f);
        } else {
            admitNextSuspect();
        }
    }

    /** When no suspect is on probation, the first waiting one goes into the engine. */
    private void admitNextSuspect() {
        if (loop == null || probation != null) {
            return;
        }
        for (InFlightRequest f : inFlight.values()) {
            if (!f.inEngine && f.engineFailures() > 0) {
                probation = f.rid();
                toEngine(f);
                return;
            }
        }
    }

    private void toEngine(InFlightRequest f) {
        f.inEngine = true;
        f.progressed = false;
        loop.admit(toGenerationRequest(f, engine.routingLayout()), f.outputsSoFar(), f.logprobsSoFar());
    }

    /** {@code f} leaves the operator (finished, refused or dead-lettered); a suspect on probation makes room. */
    private void remove(InFlightRequest f) {
        inFlight.remove(f.rid());
        f.inEngine = false;
        if (f.rid().equals(probation)) {
            probation = null;
            admitNextSuspect();
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
        offer(f);
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
            remove(f);
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
                .setPromptLogprobs(e.replay() == null || e.replay().promptLogprobs() == null ? null
                        : toList(e.replay().promptLogprobs()))
                .setForcedRouting(ReplayReports.toWire(e.replay()))
                .build();
        output.collect(new StreamRecord<>(out, now));
        f.progressed = true;
        f.nextSeq++;
        f.nextPosition = first + count;
        if (sampled) {
            if (f.numOutputs == 0) {
                f.firstTokenAt = now;
            }
            f.addOutput(e.sampledToken(), e.logprob());
        }
        if (e.isFinal()) {
            remove(f);
            metrics.onRequestFinished(now - f.admittedAt);
        } else if (f.rid().equals(probation)) {
            // The suspect got past the step it failed in: the next one may go in.
            probation = null;
            admitNextSuspect();
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
                .setRoutingStart(r.getRoutingStart())
                .setReturnRouting(r.getReturnRouting())
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
            if (loop == null) {
                startEngine();
            } else {
                mailbox.yield();
            }
        }
    }

    /** Requests admitted and not finished, as emitted so far (for tests and metrics). */
    public int numInFlight() {
        return inFlight.size();
    }

    @Override
    public void close() throws Exception {
        try {
            stopEngine();
        } finally {
            super.close();
        }
    }

    /** Stops the loop (its thread may have ended already) and closes the engine; a broken engine may not close. */
    private void stopEngine() {
        EngineLoop l = loop;
        LLMEngine e = engine;
        loop = null;
        engine = null;
        probation = null;
        try {
            if (l != null) {
                l.stop();
            }
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
        }
        try {
            if (e != null) {
                e.close();
            }
        } catch (RuntimeException | Error closing) {
            LOG.warn("Closing the inference engine failed", closing);
        }
    }

    /**
     * The engine's request; its forced ids, packed in the model's dtype at validation, are read with the engine's
     * layout (the same model). A restored request is the same request, so its replay report covers every position.
     */
    static GenerationRequest toGenerationRequest(InFlightRequest f, RoutingLayout layout) {
        InferenceRequest r = f.request;
        SamplingParams p = new SamplingParams(r.getMaxNewTokens(), r.getTemperature(), r.getTopP(), r.getTopK(),
                f.seed, r.getStopTokenIds(), r.getIgnoreEos(), r.getReturnRoutingWeights());
        ForcedRouting forced = null;
        if (r.getForcedRouting() != null) {
            byte[] packed = new byte[r.getForcedRouting().remaining()];
            r.getForcedRouting().duplicate().get(packed);
            forced = new ForcedRouting(packed.length / layout.bytesPerToken(),
                    RoutingRecord.unpack(layout.dtype(), packed));
        }
        return new GenerationRequest(r.getRid(), toArray(r.getPromptTokenIds()), p,
                new RoutingSelection(r.getRoutingStart(), r.getReturnRouting()), forced, r.getPromptLogprobs());
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
        /** The loop this listener serves; its mails are dropped once another loop replaced it. */
        EngineLoop loop;

        private boolean current() {
            return loop == InferenceOperator.this.loop;
        }

        @Override
        public void onEvents(List<StepEvent> events, EngineStats stats) {
            post(() -> {
                try {
                    if (current()) {
                        metrics.onStep(stats);
                        emit(events);
                    }
                } finally {
                    loop.stepEmitted();
                }
            }, "emit engine step");
        }

        @Override
        public void onRejected(String rid, String reason) {
            post(() -> {
                InFlightRequest f = current() ? inFlight.get(rid) : null;
                if (f != null) {
                    remove(f);
                    metrics.onRequestDropped();
                    deadLetter(f.request, reason,
                            getProcessingTimeService().getCurrentProcessingTime());
                }
            }, "reject request");
        }

        @Override
        public void onFailure(Throwable t) {
            post(() -> {
                if (current()) {
                    onEngineFailure(t);
                }
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
