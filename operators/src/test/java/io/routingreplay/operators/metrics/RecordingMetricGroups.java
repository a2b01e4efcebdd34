package io.routingreplay.operators.metrics;

import org.apache.flink.api.common.JobID;
import org.apache.flink.metrics.CharacterFilter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.clusterframework.types.ResourceID;
import org.apache.flink.runtime.executiongraph.ExecutionAttemptID;
import org.apache.flink.runtime.metrics.groups.AbstractMetricGroup;
import org.apache.flink.runtime.metrics.groups.TaskManagerMetricGroup;
import org.apache.flink.runtime.metrics.groups.TaskMetricGroup;
import org.apache.flink.runtime.metrics.util.TestingMetricRegistry;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Real Flink operator metric groups (taskmanager → job → task → operator) over a registry that records every
 * registration under the name Flink's Prometheus reporter gives it: {@code flink_} + logical scope joined by
 * {@code _} + {@code _} + metric name, with characters Prometheus rejects turned into {@code _} (as the
 * reporter's character filter does). Labels (variables such as {@code <reason>}) stay out of the name.
 * Only this job's metrics (those under {@link MetricNames#GROUP}) are kept.
 */
public final class RecordingMetricGroups {

    private static final CharacterFilter PROMETHEUS_FILTER = s -> s.replaceAll("[^a-zA-Z0-9:_]", "_");

    /** Prometheus name (without labels) + the label values that tell series apart → the metric. */
    public final Map<String, Metric> byPrometheusName = new LinkedHashMap<>();
    public final TaskMetricGroup task;

    public RecordingMetricGroups() {
        TestingMetricRegistry registry = TestingMetricRegistry.builder()
                .setRegisterConsumer(this::record)
                .build();
        task = TaskManagerMetricGroup.createTaskManagerMetricGroup(registry, "host", ResourceID.generate())
                .addJob(new JobID(), "routing-replay")
                .addTask(ExecutionAttemptID.randomId(), "inference");
    }

    public MetricGroup operator(String name) {
        return task.getOrAddOperator(name);
    }

    private void record(Metric metric, String name, AbstractMetricGroup<?> group) {
        String prometheusName = "flink_" + group.getLogicalScope(PROMETHEUS_FILTER, '_') + "_"
                + PROMETHEUS_FILTER.filterCharacters(name);
        if (!prometheusName.startsWith(MetricNames.PROMETHEUS_PREFIX)) {
            return; // Flink's own task and operator metrics (numRecordsIn, busyTimeMsPerSecond, ...)
        }
        String reason = group.getAllVariables().get("<" + MetricNames.DEAD_LETTER_REASON_KEY + ">");
        byPrometheusName.put(reason == null ? prometheusName : prometheusName + "{reason=" + reason + "}", metric);
    }

    @SuppressWarnings("unchecked")
    public <M extends Metric> M get(String prometheusName) {
        Metric m = byPrometheusName.get(prometheusName);
        if (m == null) {
            throw new AssertionError("no metric " + prometheusName + " among " + byPrometheusName.keySet());
        }
        return (M) m;
    }
}
