package io.routingreplay.operators.metrics;

import io.routingreplay.schemas.DeadLetter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;

/**
 * Counts every dead letter by the stage that refused it (decode, validate, inference, assemble), passing the
 * record through unchanged. Placed on the union of all dead-letter side outputs, just before the dead-letter sink,
 * it counts each one exactly once whichever operator made it; the stage is a bounded label value, where the
 * record's human-readable reason is not.
 */
public final class DeadLetterCounter extends RichMapFunction<DeadLetter, DeadLetter>
        implements ResultTypeQueryable<DeadLetter> {

    private transient DeadLetterMetrics metrics;

    @Override
    public void open(OpenContext openContext) {
        metrics = DeadLetterMetrics.register(getRuntimeContext().getMetricGroup());
    }

    @Override
    public DeadLetter map(DeadLetter d) {
        metrics.onDeadLetter(d.getStage() == null ? null : d.getStage().toString());
        return d;
    }

    @Override
    public TypeInformation<DeadLetter> getProducedType() {
        return new AvroTypeInfo<>(DeadLetter.class);
    }
}
