package io.routingreplay.k8s;

import io.routingreplay.operators.audit.ResultAuditor;
import io.routingreplay.operators.metrics.AssemblerMetrics;
import io.routingreplay.operators.metrics.AuditMetrics;
import io.routingreplay.operators.metrics.DeadLetterMetrics;
import io.routingreplay.operators.metrics.InferenceMetrics;
import io.routingreplay.operators.metrics.MetricNames;
import io.routingreplay.operators.metrics.MicroBatchMetrics;
import io.routingreplay.runtime.engine.EngineStats;
import org.apache.flink.api.common.JobID;
import org.apache.flink.metrics.prometheus.PrometheusReporter;
import org.apache.flink.metrics.prometheus.PrometheusReporterFactory;
import org.apache.flink.runtime.clusterframework.types.ResourceID;
import org.apache.flink.runtime.executiongraph.ExecutionAttemptID;
import org.apache.flink.runtime.metrics.filter.ReporterFilter;
import org.apache.flink.runtime.metrics.groups.FrontMetricGroup;
import org.apache.flink.runtime.metrics.groups.ReporterScopedSettings;
import org.apache.flink.runtime.metrics.groups.TaskManagerMetricGroup;
import org.apache.flink.runtime.metrics.groups.TaskMetricGroup;
import org.apache.flink.runtime.metrics.util.TestingMetricRegistry;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.apache.flink.metrics.MetricConfig;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The series names the dashboard and docs use are the ones Flink's own Prometheus reporter exports: the metric
 * classes register on real operator metric groups (taskmanager → job → task → operator), the reporter the
 * manifests configure receives them, and the test scrapes its HTTP endpoint as Prometheus would.
 */
class PrometheusExportTest {

    @Test
    void theReporterExportsExactlyTheSeriesMetricNamesLists() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        MetricConfig props = new MetricConfig();
        props.setProperty("port", String.valueOf(port));
        PrometheusReporter reporter = new PrometheusReporterFactory().createMetricReporter(props);
        try {
            TestingMetricRegistry registry = TestingMetricRegistry.builder()
                    // As MetricRegistryImpl does: reporters see each group through a FrontMetricGroup.
                    .setRegisterConsumer((metric, name, group) -> reporter.notifyOfAddedMetric(metric, name,
                            new FrontMetricGroup<>(new ReporterScopedSettings<>(0, '.', ReporterFilter.getNoOpFilter(),
                                    Set.of(), Map.of()), group)))
                    .build();
            TaskMetricGroup task = TaskManagerMetricGroup
                    .createTaskManagerMetricGroup(registry, "host", ResourceID.generate())
                    .addJob(new JobID(), "routing-replay")
                    .addTask(ExecutionAttemptID.randomId(), "inference");

            InferenceMetrics inference = new InferenceMetrics(task.getOrAddOperator("inference"));
            inference.onStep(new EngineStats(10, 5, 1, 2, 8, 3, 12, 1, 2, 640, 0, 0, 0, 0));
            inference.onRequestAdmitted();
            inference.onRequestFinished(42);
            new MicroBatchMetrics(task.getOrAddOperator("micro-batch")).onFlush(4, true);
            AssemblerMetrics assembler = new AssemblerMetrics(task.getOrAddOperator("assemble"));
            assembler.onRecordAssembled(640, 1_000, 1_100);
            DeadLetterMetrics.register(task.getOrAddOperator("count-dead-letters")).onDeadLetter("validate");
            new AuditMetrics(task.getOrAddOperator("audit")).onOutcome(ResultAuditor.Outcome.MISMATCH);

            String body = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            Set<String> scraped = new TreeSet<>();
            for (String line : body.split("\n")) {
                if (line.startsWith(MetricNames.PROMETHEUS_PREFIX)) {
                    scraped.add(line.split("[{ ]", 2)[0]);
                }
            }
            assertEquals(DashboardTest.EXPORTED, scraped);
            assertTrue(body.contains("reason=\"validate\""), "dead letters are labelled by reason");
            assertTrue(body.contains("quantile=\"0.99\""), "histograms are summaries with quantiles");
        } finally {
            reporter.close();
        }
    }
}
