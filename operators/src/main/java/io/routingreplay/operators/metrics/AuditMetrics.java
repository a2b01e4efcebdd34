package io.routingreplay.operators.metrics;

import io.routingreplay.operators.audit.ResultAuditor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

import static io.routingreplay.operators.metrics.MetricNames.*;

/**
 * The audit stage's metrics: results replayed with their own routing forced, those whose replay differed from the
 * record (logprobs not bit for bit, routing cells the free router does not reproduce, structural errors), and
 * results selected but not replayable (no routing, routing from a later position). Alert on any mismatch.
 */
public final class AuditMetrics {

    private final Counter audited;
    private final Counter mismatches;
    private final Counter skipped;

    public AuditMetrics(MetricGroup operatorGroup) {
        MetricGroup g = operatorGroup.addGroup(GROUP);
        audited = g.counter(AUDITED_RESULTS);
        mismatches = g.counter(AUDIT_MISMATCHES);
        skipped = g.counter(AUDIT_SKIPPED);
    }

    /** What one audit found. */
    public void onOutcome(ResultAuditor.Outcome outcome) {
        switch (outcome) {
            case VERIFIED -> audited.inc();
            case MISMATCH -> {
                audited.inc();
                mismatches.inc();
            }
            case SKIPPED -> skipped.inc();
        }
    }
}
