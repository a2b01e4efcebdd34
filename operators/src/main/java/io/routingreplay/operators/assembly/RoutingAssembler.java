package io.routingreplay.operators.assembly;

import io.routingreplay.operators.metrics.AssemblerMetrics;
import io.routingreplay.operators.validation.DeadLetters;
import io.routingreplay.schemas.AssemblyProgress;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.RequestHeader;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Keyed by rid: rebuilds one {@link RoutingResult} from the request's {@link TokenRoutingEvent}s.
 *
 * <p>Events are stored in position order as chunks of a list state (appending never rewrites what is stored, so a
 * long request costs O(n), not O(n²)); an event that arrives ahead of a gap waits in a map keyed by its first
 * position until the gap fills. An event whose positions are already stored (a replay) is dropped. On the final
 * event, with no gap left, the record is checked (routed tokens = prompt + outputs − 1, ids length = tokens × ids
 * per token), emitted, and the state cleared. Routing the request does not return (before its {@code routing_start},
 * or all with {@code return_routing} false; {@link RoutingCut}) is dropped as each event is stored. A request whose
 * events stop coming for {@code timeoutMs} becomes a dead letter saying what was received.
 */
public class RoutingAssembler extends KeyedProcessFunction<String, TokenRoutingEvent, RoutingResult> {

    private static final long serialVersionUID = 1L;
    public static final String STAGE = "assemble";

    private final long timeoutMs;
    private final TimeoutClock clock;

    private transient ValueState<AssemblyProgress> progress;
    private transient AssemblerMetrics metrics;
    private transient ValueState<RequestHeader> header;
    private transient ListState<TokenRoutingEvent> chunks;
    private transient MapState<Integer, TokenRoutingEvent> waiting;

    public RoutingAssembler(long timeoutMs, TimeoutClock clock) {
        if (timeoutMs < 1) {
            throw new IllegalArgumentException("assembler timeout must be >= 1 ms, got " + timeoutMs);
        }
        this.timeoutMs = timeoutMs;
        this.clock = clock;
    }

    @Override
    public void open(OpenContext ctx) {
        metrics = new AssemblerMetrics(getRuntimeContext().getMetricGroup());
        AvroTypeInfo<TokenRoutingEvent> events = new AvroTypeInfo<>(TokenRoutingEvent.class);
        progress = getRuntimeContext().getState(
                new ValueStateDescriptor<>("progress", new AvroTypeInfo<>(AssemblyProgress.class)));
        header = getRuntimeContext().getState(
                new ValueStateDescriptor<>("header", new AvroTypeInfo<>(RequestHeader.class)));
        chunks = getRuntimeContext().getListState(new ListStateDescriptor<>("chunks", events));
        waiting = getRuntimeContext().getMapState(new MapStateDescriptor<>("waiting", Types.INT, events));
    }

    @Override
    public void processElement(TokenRoutingEvent e, Context ctx, Collector<RoutingResult> out) throws Exception {
        AssemblyProgress p = progress.value();
        if (p == null) {
            p = new AssemblyProgress();
        }
        if (p.getDone()) {
            return; // a replay of a request already answered
        }
        int next = p.getNextPosition();
        if (e.getFirstPosition() < next || (e.getFirstPosition() == next && e.getNumRoutedTokens() == 0
                && e.getSampledToken() < 0)) {
            if (e.getFirstPosition() + e.getNumRoutedTokens() <= next) {
                p.setDuplicates(p.getDuplicates() + 1);
                progress.update(p);
                return;
            }
            fail(p, ctx, "events overlap: an event covers positions [" + e.getFirstPosition() + ", "
                    + (e.getFirstPosition() + e.getNumRoutedTokens()) + ") but [0, " + next + ") are already stored");
            return;
        }
        if (e.getFirstPosition() > next) {
            if (!waiting.contains(e.getFirstPosition())) {
                waiting.put(e.getFirstPosition(), e);
            } else {
                p.setDuplicates(p.getDuplicates() + 1);
            }
        } else {
            String problem = append(p, e);
            while (problem == null && waiting.contains(p.getNextPosition())) {
                TokenRoutingEvent w = waiting.get(p.getNextPosition());
                waiting.remove(p.getNextPosition());
                problem = append(p, w);
            }
            if (problem != null) {
                fail(p, ctx, problem);
                return;
            }
        }
        if (p.getFinishReason() != null && waiting.isEmpty()) {
            complete(p, ctx, out);
            return;
        }
        rearmTimeout(p, ctx);
        progress.update(p);
    }

    /** Stores one in-order event; returns a problem description, or null. */
    private String append(AssemblyProgress p, TokenRoutingEvent e) throws Exception {
        if (p.getFinishReason() != null) {
            return "an event at position " + e.getFirstPosition() + " arrived after the final event";
        }
        if (e.getHeader() != null) {
            header.update(e.getHeader());
            p.setRoutingStart(e.getHeader().getRoutingStart());
            p.setReturnRouting(e.getHeader().getReturnRouting());
        }
        if (e.getSampledToken() >= 0) {
            if (e.getOutputIndex() != p.getNumOutputs()) {
                return "output " + e.getOutputIndex() + " arrived where output " + p.getNumOutputs() + " was expected";
            }
            if (p.getNumOutputs() == 0) {
                p.setFirstTokenAt(e.getEmittedAt());
            }
            p.setNumOutputs(p.getNumOutputs() + 1);
        }
        TokenRoutingEvent chunk = e.getHeader() == null ? e : TokenRoutingEvent.newBuilder(e).setHeader(null).build();
        // Routing the result does not return is dropped before it is stored (the header came with position 0).
        chunk = RoutingCut.of(p).apply(chunk);
        chunks.add(chunk);
        p.setNumChunks(p.getNumChunks() + 1);
        p.setNextPosition(e.getFirstPosition() + e.getNumRoutedTokens());
        if (e.getFinishReason() != null) {
            p.setFinishReason(e.getFinishReason());
            p.setFinishedAt(e.getEmittedAt());
        }
        return null;
    }

    private void complete(AssemblyProgress p, Context ctx, Collector<RoutingResult> out) throws Exception {
        RequestHeader h = header.value();
        if (h == null) {
            fail(p, ctx, "the final event arrived but the request header (position 0) never did");
            return;
        }
        RoutingResultBuilder b = new RoutingResultBuilder(ctx.getCurrentKey(), h, p.getNumChunks());
        for (TokenRoutingEvent c : chunks.get()) {
            b.add(c);
        }
        RoutingResultBuilder.Built built = b.build(p, now(ctx));
        if (built.problem() != null) {
            fail(p, ctx, built.problem());
            return;
        }
        RoutingResult r = built.result();
        out.collect(r);
        metrics.onRecordAssembled(r.getRoutingIds() == null ? 0 : r.getRoutingIds().remaining(),
                r.getTimings().getSubmittedAt(), now(ctx));
        finish(p, ctx);
    }

    private void fail(AssemblyProgress p, Context ctx, String reason) throws Exception {
        RequestHeader h = header.value();
        ctx.output(DeadLetters.TAG, DeadLetter.newBuilder()
                .setRid(ctx.getCurrentKey())
                .setReason("rid '" + ctx.getCurrentKey() + "': " + reason + " (" + describe(p, h) + ")")
                .setStage(STAGE)
                .setFailedAt(now(ctx))
                .build());
        finish(p, ctx);
    }

    /** Drops the stored events and remembers for one more timeout that the rid was answered (replays are ignored). */
    private void finish(AssemblyProgress p, Context ctx) throws Exception {
        chunks.clear();
        waiting.clear();
        header.clear();
        deleteTimer(p, ctx);
        AssemblyProgress done = new AssemblyProgress();
        done.setDone(true);
        done.setDuplicates(p.getDuplicates());
        done.setTimeoutAt(registerTimer(ctx, now(ctx) + timeoutMs));
        progress.update(done);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<RoutingResult> out) throws Exception {
        AssemblyProgress p = progress.value();
        if (p == null || p.getTimeoutAt() != timestamp) {
            return;
        }
        if (p.getDone()) {
            progress.clear();
            return;
        }
        List<Integer> gaps = new ArrayList<>();
        for (Integer k : waiting.keys()) {
            gaps.add(k);
        }
        fail(p, ctx, "no event for " + timeoutMs + " ms; the record is incomplete"
                + (gaps.isEmpty() ? "" : ", events waiting after a gap start at positions " + gaps));
    }

    private void rearmTimeout(AssemblyProgress p, Context ctx) {
        deleteTimer(p, ctx);
        long base = clock == TimeoutClock.EVENT && ctx.timestamp() != null ? ctx.timestamp() : now(ctx);
        p.setTimeoutAt(registerTimer(ctx, base + timeoutMs));
    }

    private long registerTimer(Context ctx, long at) {
        if (clock == TimeoutClock.EVENT) {
            ctx.timerService().registerEventTimeTimer(at);
        } else {
            ctx.timerService().registerProcessingTimeTimer(at);
        }
        return at;
    }

    private void deleteTimer(AssemblyProgress p, Context ctx) {
        if (p.getTimeoutAt() == 0) {
            return;
        }
        if (clock == TimeoutClock.EVENT) {
            ctx.timerService().deleteEventTimeTimer(p.getTimeoutAt());
        } else {
            ctx.timerService().deleteProcessingTimeTimer(p.getTimeoutAt());
        }
    }

    private long now(Context ctx) {
        return clock == TimeoutClock.EVENT ? ctx.timerService().currentWatermark()
                : ctx.timerService().currentProcessingTime();
    }

    private static String describe(AssemblyProgress p, RequestHeader h) {
        return "received positions [0, " + p.getNextPosition() + ") in order, " + p.getNumOutputs() + " outputs"
                + (h == null ? ", no header" : " of a " + h.getPromptTokenIds().size() + "-token prompt")
                + (p.getFinishReason() == null ? ", no final event" : ", final event '" + p.getFinishReason() + "'");
    }
}
