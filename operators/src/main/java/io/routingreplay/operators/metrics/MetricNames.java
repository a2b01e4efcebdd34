package io.routingreplay.operators.metrics;

import java.util.List;

/**
 * Every metric the job registers, in one place: the metric classes register exactly these names, and the Grafana
 * dashboard and {@code docs/deploy.md} are checked against this list (k8s module tests), so a renamed metric cannot
 * silently leave a dashboard panel empty.
 *
 * <p>All metrics live in the operator scope under the subgroup {@value #GROUP}. Flink's Prometheus reporter turns
 * the logical scope into the name prefix {@value #PROMETHEUS_PREFIX}; a key/value subgroup such as
 * {@code addGroup("reason", r)} adds the key to the name and the value as a label.
 */
public final class MetricNames {

    /** The subgroup under the operator's metric group. */
    public static final String GROUP = "routing_replay";
    /** The Prometheus name prefix of an operator metric in {@link #GROUP} (logical scope, dots to underscores). */
    public static final String PROMETHEUS_PREFIX = "flink_taskmanager_job_task_operator_" + GROUP + "_";

    // Inference operator: engine throughput and load.
    public static final String PREFILL_TOKENS = "prefill_tokens";
    public static final String PREFILL_TOKENS_PER_SECOND = "prefill_tokens_per_second";
    public static final String DECODE_TOKENS = "decode_tokens";
    public static final String DECODE_TOKENS_PER_SECOND = "decode_tokens_per_second";
    public static final String ROUTING_BYTES = "routing_bytes";
    public static final String ROUTING_BYTES_PER_SECOND = "routing_bytes_per_second";
    public static final String ENGINE_STEPS = "engine_steps";
    public static final String ENGINE_STEPS_PER_SECOND = "engine_steps_per_second";
    public static final String PREEMPTIONS = "preemptions";
    public static final String ENGINE_FAILURES = "engine_failures";
    public static final String RECOMPUTED_POSITIONS = "recomputed_positions";
    public static final String SWAPPED_OUT_BLOCKS = "swapped_out_blocks";
    public static final String SWAPPED_IN_BLOCKS = "swapped_in_blocks";
    public static final String PREFIX_CACHE_HITS = "prefix_cache_hits";
    public static final String PREFIX_CACHE_MISSES = "prefix_cache_misses";
    public static final String BATCH_SIZE = "batch_size";
    public static final String BATCH_OCCUPANCY = "batch_occupancy";
    public static final String KV_CACHE_USAGE = "kv_cache_usage";
    public static final String QUEUE_DEPTH = "queue_depth";
    public static final String REQUESTS_RUNNING = "requests_running";
    public static final String REQUESTS_IN_FLIGHT = "requests_in_flight";
    public static final String REQUESTS_FINISHED = "requests_finished";
    public static final String REQUEST_LATENCY_MS = "request_latency_ms";

    // Micro-batch window.
    public static final String MICRO_BATCHES_FULL = "micro_batches_full";
    public static final String MICRO_BATCHES_TIMED_OUT = "micro_batches_timed_out";
    public static final String MICRO_BATCH_SIZE = "micro_batch_size";

    // Assembler.
    public static final String RECORDS_ASSEMBLED = "records_assembled";
    public static final String ASSEMBLED_ROUTING_BYTES_PER_SECOND = "assembled_routing_bytes_per_second";
    public static final String END_TO_END_LATENCY_MS = "end_to_end_latency_ms";

    // Audit stage (audit.fraction > 0).
    public static final String AUDITED_RESULTS = "audited_results";
    public static final String AUDIT_MISMATCHES = "audit_mismatches";
    public static final String AUDIT_SKIPPED = "audit_skipped";

    // Dead letters, any operator: one counter per reason, under addGroup(DEAD_LETTER_REASON_KEY, reason).
    public static final String DEAD_LETTER_REASON_KEY = "reason";
    public static final String DEAD_LETTERS = "dead_letters";

    /** What kind of Flink metric a name is; it decides the series the Prometheus reporter exports. */
    public enum Kind { COUNTER, METER, GAUGE, HISTOGRAM }

    /** One registered metric: its name, kind, and the key/value subgroup key between {@link #GROUP} and it. */
    public record Metric(String name, Kind kind, String subgroupKey) {
        /**
         * The Prometheus series names Flink's reporter exports for it: counters, meters (their rate) and gauges as
         * one gauge; histograms as a summary ({@code name{quantile=...}} plus {@code name_count}).
         */
        public List<String> prometheusSeries() {
            String base = PROMETHEUS_PREFIX + (subgroupKey == null ? "" : subgroupKey + "_") + name;
            return kind == Kind.HISTOGRAM ? List.of(base, base + "_count") : List.of(base);
        }
    }

    /** Every metric the job registers. */
    public static final List<Metric> ALL = List.of(
            new Metric(PREFILL_TOKENS, Kind.COUNTER, null),
            new Metric(PREFILL_TOKENS_PER_SECOND, Kind.METER, null),
            new Metric(DECODE_TOKENS, Kind.COUNTER, null),
            new Metric(DECODE_TOKENS_PER_SECOND, Kind.METER, null),
            new Metric(ROUTING_BYTES, Kind.COUNTER, null),
            new Metric(ROUTING_BYTES_PER_SECOND, Kind.METER, null),
            new Metric(ENGINE_STEPS, Kind.COUNTER, null),
            new Metric(ENGINE_STEPS_PER_SECOND, Kind.METER, null),
            new Metric(PREEMPTIONS, Kind.COUNTER, null),
            new Metric(ENGINE_FAILURES, Kind.COUNTER, null),
            new Metric(RECOMPUTED_POSITIONS, Kind.COUNTER, null),
            new Metric(SWAPPED_OUT_BLOCKS, Kind.COUNTER, null),
            new Metric(SWAPPED_IN_BLOCKS, Kind.COUNTER, null),
            new Metric(PREFIX_CACHE_HITS, Kind.COUNTER, null),
            new Metric(PREFIX_CACHE_MISSES, Kind.COUNTER, null),
            new Metric(BATCH_SIZE, Kind.GAUGE, null),
            new Metric(BATCH_OCCUPANCY, Kind.GAUGE, null),
            new Metric(KV_CACHE_USAGE, Kind.GAUGE, null),
            new Metric(QUEUE_DEPTH, Kind.GAUGE, null),
            new Metric(REQUESTS_RUNNING, Kind.GAUGE, null),
            new Metric(REQUESTS_IN_FLIGHT, Kind.GAUGE, null),
            new Metric(REQUESTS_FINISHED, Kind.COUNTER, null),
            new Metric(REQUEST_LATENCY_MS, Kind.HISTOGRAM, null),
            new Metric(MICRO_BATCHES_FULL, Kind.COUNTER, null),
            new Metric(MICRO_BATCHES_TIMED_OUT, Kind.COUNTER, null),
            new Metric(MICRO_BATCH_SIZE, Kind.HISTOGRAM, null),
            new Metric(RECORDS_ASSEMBLED, Kind.COUNTER, null),
            new Metric(ASSEMBLED_ROUTING_BYTES_PER_SECOND, Kind.METER, null),
            new Metric(END_TO_END_LATENCY_MS, Kind.HISTOGRAM, null),
            new Metric(AUDITED_RESULTS, Kind.COUNTER, null),
            new Metric(AUDIT_MISMATCHES, Kind.COUNTER, null),
            new Metric(AUDIT_SKIPPED, Kind.COUNTER, null),
            new Metric(DEAD_LETTERS, Kind.COUNTER, DEAD_LETTER_REASON_KEY));

    private MetricNames() {
    }
}
