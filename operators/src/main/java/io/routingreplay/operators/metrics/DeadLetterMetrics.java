package io.routingreplay.operators.metrics;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import static io.routingreplay.operators.metrics.MetricNames.*;

/**
 * Dead letters counted by reason, one counter per reason under {@code addGroup("reason", code)}, so Prometheus
 * sees one series {@code ..._reason_dead_letters{reason="..."}} per reason. The job counts them in one place,
 * {@link DeadLetterCounter}, with the dead letter's stage as the code.
 *
 * <p>Reasons become label values, so they must be few: callers pass a short code ("decode", "validate",
 * "timeout", ...), not the human message (that goes into the dead-letter record). Codes are
 * lower-cased to {@code [a-z0-9_]}; past {@link #MAX_REASONS} distinct codes the rest count as "other", which keeps
 * a bug that puts free text here from flooding Prometheus with series.
 */
public final class DeadLetterMetrics {

    public static final int MAX_REASONS = 32;
    public static final String OTHER = "other";

    private final MetricGroup group;
    private final Map<String, Counter> byReason = new HashMap<>();

    private DeadLetterMetrics(MetricGroup routingReplayGroup) {
        this.group = routingReplayGroup;
    }

    /** Registers under the operator's "routing_replay" subgroup; counters per reason appear on first use. */
    public static DeadLetterMetrics register(MetricGroup operatorGroup) {
        return new DeadLetterMetrics(operatorGroup.addGroup(GROUP));
    }

    public void onDeadLetter(String reason) {
        String code = code(reason);
        Counter c = byReason.get(code);
        if (c == null) {
            if (byReason.size() >= MAX_REASONS) {
                code = OTHER;
                c = byReason.get(OTHER);
            }
            if (c == null) {
                c = group.addGroup(DEAD_LETTER_REASON_KEY, code).counter(DEAD_LETTERS);
                byReason.put(code, c);
            }
        }
        c.inc();
    }

    /** The label value for a reason: lower case, runs of anything but [a-z0-9] as one '_', at most 64 chars. */
    static String code(String reason) {
        if (reason == null || reason.isBlank()) {
            return "unknown";
        }
        String c = reason.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "_").replaceAll("^_|_$", "");
        if (c.isEmpty()) {
            return "unknown";
        }
        return c.length() > 64 ? c.substring(0, 64) : c;
    }
}
