package io.routingreplay.operators.recordsize;

import io.routingreplay.operators.validation.DeadLetters;
import io.routingreplay.operators.validation.LimitOptions;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The last step before the results sink: a result whose Kafka record would exceed {@code kafka.max-record-bytes}
 * becomes a dead letter with a reason instead. The producer would refuse such a record, failing the sink's
 * transaction; the job would restart, recompute the same result and fail again, answering nothing, not even the
 * requests around it. Validation already refuses requests whose result could get that large
 * ({@link ResultSizeBound}), so this only fires when that bound is wrong or the limit was lowered while requests were
 * in flight (a restore with a smaller {@code kafka.max-record-bytes}). The record is encoded once here to measure it
 * exactly (about a millisecond per megabyte, small beside generating it). Stateless.
 */
public class OversizedResultFilter extends ProcessFunction<RoutingResult, RoutingResult> {

    private static final long serialVersionUID = 1L;
    public static final String STAGE = "output";

    private final int maxRecordBytes;
    private transient SingleObjectCodec<RoutingResult> codec;

    public OversizedResultFilter(int maxRecordBytes) {
        this.maxRecordBytes = maxRecordBytes;
    }

    @Override
    public void open(OpenContext ctx) {
        codec = SingleObjectCodec.of(RoutingResult.class);
    }

    @Override
    public void processElement(RoutingResult r, Context ctx, Collector<RoutingResult> out) {
        String rid = r.getRid().toString();
        long bytes = KafkaRecordFraming.recordBytes(rid.getBytes(StandardCharsets.UTF_8).length,
                codec.encode(r).length);
        if (bytes <= maxRecordBytes) {
            out.collect(r);
            return;
        }
        String key = LimitOptions.MAX_RECORD_BYTES.key();
        ctx.output(DeadLetters.TAG, DeadLetter.newBuilder()
                .setRid(rid)
                .setReason("rid '" + rid + "': the result is " + bytes + " bytes as a Kafka record (prompt "
                        + r.getPromptTokenIds().size() + " + " + r.getOutputTokenIds().size() + " output tokens, "
                        + (r.getRoutingIds() == null ? 0 : r.getRoutingIds().remaining()) + " bytes of routing ids"
                        + (r.getRoutingWeights() != null ? " and " + r.getRoutingWeights().size() + " routing weights"
                        : "") + "), over the limit of " + maxRecordBytes + " bytes (" + key + "), so it was not "
                        + "published: send the request again with a lower max_new_tokens, or raise " + key
                        + " (and the results topic's max.message.bytes)")
                .setStage(STAGE)
                .setFailedAt(ctx.timerService().currentProcessingTime())
                .build());
    }
}
