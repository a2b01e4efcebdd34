package io.routingreplay.operators.validation;

import io.routingreplay.schemas.InferenceRequest;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.time.Duration;

/**
 * Keyed by rid: lets the first accepted request of each rid through and dead-letters any later one within the TTL,
 * so a rid gets exactly one result however often it is published. The remembered origin is checkpointed keyed
 * state, so after a restore a replayed record meets exactly the state it met the first time. A duplicate's dead
 * letter carries the duplicate's own record bytes, which arrive with it ({@link ValidatedPrompt}); the state holds
 * only the first one's origin (a short string), never bytes, and accepted requests go on without them.
 */
public class DuplicateRidFilter extends KeyedProcessFunction<String, ValidatedPrompt, InferenceRequest> {

    private static final long serialVersionUID = 1L;

    private final Duration ttl;
    private final int deadLetterRawBytes;
    private transient ValueState<String> firstOrigin;

    public DuplicateRidFilter(ValidationLimits limits) {
        this.ttl = limits.dedupTtl();
        this.deadLetterRawBytes = limits.deadLetterRawBytes();
    }

    @Override
    public void open(OpenContext ctx) {
        ValueStateDescriptor<String> d = new ValueStateDescriptor<>("first-origin", Types.STRING);
        d.enableTimeToLive(StateTtlConfig.newBuilder(ttl)
                .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                .build());
        firstOrigin = getRuntimeContext().getState(d);
    }

    @Override
    public void processElement(ValidatedPrompt in, Context ctx, Collector<InferenceRequest> out) throws Exception {
        InferenceRequest req = in.request;
        String origin = originOf(req);
        String first = firstOrigin.value();
        if (first == null) {
            firstOrigin.update(origin);
            out.collect(req);
            return;
        }
        RawPrompt raw = new RawPrompt(in.raw, req.getSourceTopic(), req.getSourcePartition(), req.getSourceOffset());
        ctx.output(DeadLetters.TAG, DeadLetters.of(raw, req.getRid(), "duplicate rid '" + req.getRid()
                        + "': a request with this rid was already accepted (" + first + "); only the first is answered",
                DeadLetters.STAGE_VALIDATE, deadLetterRawBytes, ctx.timerService().currentProcessingTime()));
    }

    private static String originOf(InferenceRequest r) {
        return r.getSourceTopic() == null ? "earlier in this run"
                : "from " + r.getSourceTopic() + "/" + r.getSourcePartition() + "@" + r.getSourceOffset();
    }

}
