package io.routingreplay.operators.metrics;

import io.routingreplay.runtime.engine.EngineStats;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MeterView;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static io.routingreplay.operators.metrics.MetricNames.*;
import static org.junit.jupiter.api.Assertions.*;

class InferenceMetricsTest {

    private final RecordingMetricGroups groups = new RecordingMetricGroups();

    private static String p(String name) {
        return PROMETHEUS_PREFIX + name;
    }

    private static EngineStats stats(long prefill, long decode, long steps, int batch, int maxSeqs, int kvUsed,
                                     int kvTotal, int waiting, int running, long routingBytes, long preemptions) {
        return new EngineStats(prefill, decode, steps, batch, maxSeqs, kvUsed, kvTotal, waiting, running,
                routingBytes, preemptions, 0, 0, 0);
    }

    @Test
    void theOperatorsRegisterExactlyTheNamesListedInMetricNames() {
        new InferenceMetrics(groups.operator("inference"));
        new MicroBatchMetrics(groups.operator("window"));
        new AssemblerMetrics(groups.operator("assembler"));
        new AuditMetrics(groups.operator("audit"));
        DeadLetterMetrics.register(groups.operator("count-dead-letters")).onDeadLetter("validate");

        Set<String> registered = groups.byPrometheusName.keySet().stream()
                .map(n -> n.replaceAll("\\{.*}", "")).collect(Collectors.toCollection(TreeSet::new));
        Set<String> listed = MetricNames.ALL.stream().map(m -> m.prometheusSeries().get(0))
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(listed, registered);
    }

    @Test
    void stepsTurnCumulativeEngineCountersIntoCountersAndRates() {
        InferenceMetrics metrics = new InferenceMetrics(groups.operator("inference"));
        metrics.onStep(stats(100, 10, 2, 4, 8, 3, 12, 5, 4, 300, 0));
        metrics.onStep(stats(160, 130, 9, 6, 8, 9, 12, 1, 6, 3900, 1));

        assertEquals(160, groups.<Counter>get(p(PREFILL_TOKENS)).getCount());
        assertEquals(130, groups.<Counter>get(p(DECODE_TOKENS)).getCount());
        assertEquals(3900, groups.<Counter>get(p(ROUTING_BYTES)).getCount());
        assertEquals(9, groups.<Counter>get(p(ENGINE_STEPS)).getCount());
        assertEquals(1, groups.<Counter>get(p(PREEMPTIONS)).getCount());
        assertEquals(6, groups.<Gauge<Integer>>get(p(BATCH_SIZE)).getValue());
        assertEquals(0.75, groups.<Gauge<Double>>get(p(BATCH_OCCUPANCY)).getValue(), 1e-12);
        assertEquals(0.75, groups.<Gauge<Double>>get(p(KV_CACHE_USAGE)).getValue(), 1e-12);
        assertEquals(1, groups.<Gauge<Integer>>get(p(QUEUE_DEPTH)).getValue());
        assertEquals(6, groups.<Gauge<Integer>>get(p(REQUESTS_RUNNING)).getValue());

        // Flink's view updater calls update() every 5 s; the default window is 60 s.
        MeterView decodeRate = groups.get(p(DECODE_TOKENS_PER_SECOND));
        decodeRate.update();
        assertEquals(130.0 / 60, decodeRate.getRate(), 1e-9);
        MeterView routingRate = groups.get(p(ROUTING_BYTES_PER_SECOND));
        routingRate.update();
        assertEquals(3900.0 / 60, routingRate.getRate(), 1e-9);
    }

    @Test
    void prefixCacheAndRecomputedPositionsCountWhatTheEngineReportsGrewBy() {
        InferenceMetrics metrics = new InferenceMetrics(groups.operator("inference"));
        metrics.onStep(new EngineStats(100, 10, 2, 4, 8, 3, 12, 5, 4, 300, 1, 7, 48, 52));
        metrics.onStep(new EngineStats(160, 130, 9, 6, 8, 9, 12, 1, 6, 3900, 2, 19, 160, 70));
        assertEquals(19, groups.<Counter>get(p(RECOMPUTED_POSITIONS)).getCount());
        assertEquals(160, groups.<Counter>get(p(PREFIX_CACHE_HITS)).getCount());
        assertEquals(70, groups.<Counter>get(p(PREFIX_CACHE_MISSES)).getCount());
    }

    @Test
    void swappedBlocksCountWhatTheEngineReportsGrewBy() {
        InferenceMetrics metrics = new InferenceMetrics(groups.operator("inference"));
        metrics.onStep(new EngineStats(100, 10, 2, 4, 8, 3, 12, 5, 4, 300, 1, 0, 48, 52, 0, 6, 0));
        metrics.onStep(new EngineStats(160, 130, 9, 6, 8, 9, 12, 1, 6, 3900, 2, 0, 160, 70, 0, 11, 9));
        assertEquals(11, groups.<Counter>get(p(SWAPPED_OUT_BLOCKS)).getCount());
        assertEquals(9, groups.<Counter>get(p(SWAPPED_IN_BLOCKS)).getCount());
    }

    @Test
    void aNewEngineWhoseCountersRestartedCountsWhole() {
        InferenceMetrics metrics = new InferenceMetrics(groups.operator("inference"));
        metrics.onStep(stats(500, 400, 50, 1, 8, 1, 10, 0, 1, 1000, 0));
        metrics.onStep(stats(20, 3, 2, 1, 8, 1, 10, 0, 1, 40, 0));
        assertEquals(520, groups.<Counter>get(p(PREFILL_TOKENS)).getCount());
        assertEquals(403, groups.<Counter>get(p(DECODE_TOKENS)).getCount());
        assertEquals(1040, groups.<Counter>get(p(ROUTING_BYTES)).getCount());
    }

    @Test
    void gaugesReadZeroBeforeTheFirstStepAndWithAnEmptyCache() {
        InferenceMetrics metrics = new InferenceMetrics(groups.operator("inference"));
        assertEquals(0.0, groups.<Gauge<Double>>get(p(BATCH_OCCUPANCY)).getValue());
        assertEquals(0.0, groups.<Gauge<Double>>get(p(KV_CACHE_USAGE)).getValue());
        metrics.onStep(stats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
        assertEquals(0.0, groups.<Gauge<Double>>get(p(BATCH_OCCUPANCY)).getValue());
        assertEquals(0.0, groups.<Gauge<Double>>get(p(KV_CACHE_USAGE)).getValue());
    }

    @Test
    void requestsInFlightFollowAdmissionsResultsAndDrops() {
        InferenceMetrics metrics = new InferenceMetrics(groups.operator("inference"));
        for (int i = 0; i < 5; i++) {
            metrics.onRequestAdmitted();
        }
        metrics.onRequestFinished(120);
        metrics.onRequestFinished(80);
        metrics.onRequestDropped();

        assertEquals(2, groups.<Gauge<Integer>>get(p(REQUESTS_IN_FLIGHT)).getValue());
        assertEquals(2, groups.<Counter>get(p(REQUESTS_FINISHED)).getCount());
        Histogram latency = groups.get(p(REQUEST_LATENCY_MS));
        assertEquals(2, latency.getCount());
        assertEquals(80, latency.getStatistics().getMin());
        assertEquals(120, latency.getStatistics().getMax());
    }

    @Test
    void theLatencyHistogramKeepsOnlyTheLatestSamples() {
        InferenceMetrics metrics = new InferenceMetrics(groups.operator("inference"));
        for (int i = 0; i < InferenceMetrics.LATENCY_SAMPLES + 100; i++) {
            metrics.onRequestAdmitted();
            metrics.onRequestFinished(i < 100 ? 1_000_000 : 10);
        }
        Histogram latency = groups.get(p(REQUEST_LATENCY_MS));
        assertEquals(InferenceMetrics.LATENCY_SAMPLES + 100, latency.getCount());
        assertEquals(10, latency.getStatistics().getMax(), "the 100 slow early samples fell out of the window");
        assertEquals(InferenceMetrics.LATENCY_SAMPLES, latency.getStatistics().size());
    }
}
