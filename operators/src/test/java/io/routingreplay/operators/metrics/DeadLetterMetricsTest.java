package io.routingreplay.operators.metrics;

import org.apache.flink.metrics.Counter;
import org.junit.jupiter.api.Test;

import static io.routingreplay.operators.metrics.MetricNames.*;
import static org.junit.jupiter.api.Assertions.*;

class DeadLetterMetricsTest {

    private final RecordingMetricGroups groups = new RecordingMetricGroups();

    private Counter reason(String code) {
        return groups.get(PROMETHEUS_PREFIX + DEAD_LETTER_REASON_KEY + "_" + DEAD_LETTERS + "{reason=" + code + "}");
    }

    @Test
    void countsEachReasonUnderItsOwnLabel() {
        DeadLetterMetrics dl = DeadLetterMetrics.register(groups.operator("validate"));
        dl.onDeadLetter("invalid_request");
        dl.onDeadLetter("invalid_request");
        dl.onDeadLetter("undecodable");
        assertEquals(2, reason("invalid_request").getCount());
        assertEquals(1, reason("undecodable").getCount());
    }

    @Test
    void reasonsBecomeShortLabelValues() {
        assertEquals("prompt_too_long", DeadLetterMetrics.code("Prompt too long!"));
        assertEquals("unknown", DeadLetterMetrics.code(null));
        assertEquals("unknown", DeadLetterMetrics.code(" -- "));
        assertEquals(64, DeadLetterMetrics.code("x".repeat(200)).length());
    }

    @Test
    void freeTextReasonsCannotFloodPrometheusWithSeries() {
        DeadLetterMetrics dl = DeadLetterMetrics.register(groups.operator("validate"));
        for (int i = 0; i < DeadLetterMetrics.MAX_REASONS + 10; i++) {
            dl.onDeadLetter("reason " + i);
        }
        dl.onDeadLetter("reason 0");
        assertEquals(2, reason("reason_0").getCount());
        assertEquals(10, reason(DeadLetterMetrics.OTHER).getCount());
        assertEquals(DeadLetterMetrics.MAX_REASONS + 1, groups.byPrometheusName.size());
    }
}
