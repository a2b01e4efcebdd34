package io.routingreplay.operators.window;

import io.routingreplay.operators.metrics.MicroBatchMetrics;
import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.PromptBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Keyed by {@link ShardKey}: gathers prompts and flushes them as one {@link PromptBatch} when {@code maxBatchSize}
 * have arrived or {@code maxWaitMs} has passed since the first of the batch, whichever comes first (processing-time
 * timer). Buffered prompts are keyed state, so a checkpoint holds them; at the end of a bounded input every
 * buffer is flushed.
 */
public class MicroBatchWindowOperator extends AbstractStreamOperator<PromptBatch>
        implements OneInputStreamOperator<InferenceRequest, PromptBatch>, Triggerable<String, VoidNamespace>,
        BoundedOneInput {

    private static final long serialVersionUID = 1L;
    private static final String BUFFER = "micro-batch-buffer";

    private final int maxBatchSize;
    private final long maxWaitMs;

    private transient ListState<InferenceRequest> buffer;
    private transient ValueState<Integer> count;
    private transient ValueState<Long> deadline;
    private transient InternalTimerService<VoidNamespace> timers;
    private transient MicroBatchMetrics metrics;

    public MicroBatchWindowOperator(int maxBatchSize, long maxWaitMs) {
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("micro-batch size must be >= 1, got " + maxBatchSize);
        }
        if (maxWaitMs < 0) {
            throw new IllegalArgumentException("micro-batch wait must be >= 0 ms, got " + maxWaitMs);
        }
        this.maxBatchSize = maxBatchSize;
        this.maxWaitMs = maxWaitMs;
    }

    @Override
    public void open() throws Exception {
        super.open();
        buffer = getRuntimeContext().getListState(
                new ListStateDescriptor<>(BUFFER, new AvroTypeInfo<>(InferenceRequest.class)));
        count = getRuntimeContext().getState(new ValueStateDescriptor<>("micro-batch-count", Types.INT));
        deadline = getRuntimeContext().getState(new ValueStateDescriptor<>("micro-batch-deadline", Types.LONG));
        timers = getInternalTimerService("micro-batch-timers", VoidNamespaceSerializer.INSTANCE, this);
        metrics = new MicroBatchMetrics(getMetricGroup());
    }

    @Override
    public void processElement(StreamRecord<InferenceRequest> element) throws Exception {
        buffer.add(element.getValue());
        Integer n = count.value();
        int size = n == null ? 1 : n + 1;
        if (size >= maxBatchSize) {
            flush(true);
            return;
        }
        count.update(size);
        if (size == 1) {
            long at = timers.currentProcessingTime() + maxWaitMs;
            deadline.update(at);
            timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, at);
        }
    }

    @Override
    public void onProcessingTime(InternalTimer<String, VoidNamespace> timer) throws Exception {
        Long due = deadline.value();
        if (due != null && due == timer.getTimestamp()) {
            flush(false);
        }
    }

    @Override
    public void onEventTime(InternalTimer<String, VoidNamespace> timer) {
    }

    /** Emits the current key's buffer as one batch and clears it; {@code full}: the size limit triggered it. */
    private void flush(boolean full) throws Exception {
        List<InferenceRequest> batch = new ArrayList<>();
        for (InferenceRequest r : buffer.get()) {
            batch.add(r);
        }
        Long due = deadline.value();
        if (due != null) {
            timers.deleteProcessingTimeTimer(VoidNamespace.INSTANCE, due);
        }
        buffer.clear();
        count.clear();
        deadline.clear();
        if (!batch.isEmpty()) {
            output.collect(new StreamRecord<>(new PromptBatch((String) getCurrentKey(), batch)));
            metrics.onFlush(batch.size(), full);
        }
    }

    @Override
    public void endInput() throws Exception {
        List<Object> keys;
        try (Stream<Object> s = getKeyedStateBackend().getKeys(BUFFER, VoidNamespace.INSTANCE)) {
            keys = s.collect(Collectors.toList());
        }
        for (Object key : keys) {
            setCurrentKey(key);
            flush(false);
        }
    }
}
