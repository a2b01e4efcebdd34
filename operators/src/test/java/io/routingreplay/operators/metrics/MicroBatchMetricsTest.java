package io.routingreplay.operators.metrics;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.junit.jupiter.api.Test;

import static io.routingreplay.operators.metrics.MetricNames.*;
import static org.junit.jupiter.api.Assertions.*;

class MicroBatchMetricsTest {

    @Test
    void countsFullAndTimedOutBatchesAndTheirSizes() {
        RecordingMetricGroups groups = new RecordingMetricGroups();
        MicroBatchMetrics metrics = new MicroBatchMetrics(groups.operator("window"));
        metrics.onFlush(32, true);
        metrics.onFlush(32, true);
        metrics.onFlush(3, false);

        assertEquals(2, groups.<Counter>get(PROMETHEUS_PREFIX + MICRO_BATCHES_FULL).getCount());
        assertEquals(1, groups.<Counter>get(PROMETHEUS_PREFIX + MICRO_BATCHES_TIMED_OUT).getCount());
        Histogram size = groups.get(PROMETHEUS_PREFIX + MICRO_BATCH_SIZE);
        assertEquals(3, size.getCount());
        assertEquals(3, size.getStatistics().getMin());
        assertEquals(32, size.getStatistics().getMax());
    }
}
