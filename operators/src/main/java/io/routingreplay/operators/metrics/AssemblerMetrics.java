package io.routingreplay.operators.metrics;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

import static io.routingreplay.operators.metrics.MetricNames.*;

/**
 * The assembler's metrics: complete records emitted, the routing bytes per second they carry, the end-to-end
 * latency from the prompt's {@code submitted_at} to the record's emission. (Its dead letters, timeouts and gaps,
 * are counted by {@link DeadLetterCounter} with everyone else's.)
 */
public final class AssemblerMetrics {

    public static final int LATENCY_SAMPLES = 2048;

    private final Counter recordsAssembled;
    private final Counter routingBytes;
    private final Histogram endToEndLatencyMs;

    public AssemblerMetrics(MetricGroup operatorGroup) {
        MetricGroup g = operatorGroup.addGroup(GROUP);
        recordsAssembled = g.counter(RECORDS_ASSEMBLED);
        // Only the meter is exported for these bytes: the inference operator already exports the cumulative count.
        routingBytes = new SimpleCounter();
        g.meter(ASSEMBLED_ROUTING_BYTES_PER_SECOND, new MeterView(routingBytes));
        endToEndLatencyMs = g.histogram(END_TO_END_LATENCY_MS, new DescriptiveStatisticsHistogram(LATENCY_SAMPLES));
    }

    /**
     * A complete record carrying {@code routingBytes} packed routing bytes was emitted; {@code submittedAtMs} is
     * the prompt's submission time (epoch ms); 0 or less means the prompt did not carry one
     * (the Avro default), and the record adds no latency sample.
     */
    public void onRecordAssembled(long routingBytes, long submittedAtMs, long nowMs) {
        recordsAssembled.inc();
        this.routingBytes.inc(routingBytes);
        if (submittedAtMs > 0) {
            endToEndLatencyMs.update(Math.max(0, nowMs - submittedAtMs));
        }
    }
}
