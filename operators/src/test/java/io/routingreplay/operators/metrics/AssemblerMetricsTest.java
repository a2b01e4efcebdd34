package io.routingreplay.operators.metrics;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MeterView;
import org.junit.jupiter.api.Test;

import static io.routingreplay.operators.metrics.MetricNames.*;
import static org.junit.jupiter.api.Assertions.*;

class AssemblerMetricsTest {

    @Test
    void countsRecordsRoutingBytesAndEndToEndLatency() {
        RecordingMetricGroups groups = new RecordingMetricGroups();
        AssemblerMetrics metrics = new AssemblerMetrics(groups.operator("assembler"));
        metrics.onRecordAssembled(4_800, 1_000, 1_250);
        metrics.onRecordAssembled(1_000, 0, 2_000);    // submitted_at absent (Avro default 0): no sample
        metrics.onRecordAssembled(200, -1, 2_000);

        assertEquals(3, groups.<Counter>get(PROMETHEUS_PREFIX + RECORDS_ASSEMBLED).getCount());
        MeterView bytes = groups.get(PROMETHEUS_PREFIX + ASSEMBLED_ROUTING_BYTES_PER_SECOND);
        bytes.update();
        assertEquals(6_000.0 / 60, bytes.getRate(), 1e-9);
        Histogram latency = groups.get(PROMETHEUS_PREFIX + END_TO_END_LATENCY_MS);
        assertEquals(1, latency.getCount());
        assertEquals(250, latency.getStatistics().getMax());
    }
}
