package io.routingreplay.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.routingreplay.operators.metrics.MetricNames;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/** The Grafana dashboard queries only series the job exports, and shows every one of them. */
class DashboardTest {

    static final Pattern SERIES = Pattern.compile("\\bflink_[A-Za-z0-9_:]+");

    static JsonNode dashboard() throws Exception {
        return JsonMapper.builder().build().readTree(
                RepoFiles.K8S.resolve("grafana/routing-replay-dashboard.json").toFile());
    }

    /** Every PromQL expression in the dashboard: panel targets and template-variable queries. */
    static List<String> expressions(JsonNode node) {
        List<String> out = new ArrayList<>();
        collect(node, out);
        return out;
    }

    private static void collect(JsonNode node, List<String> out) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                if ((e.getKey().equals("expr") || e.getKey().equals("query") || e.getKey().equals("definition"))
                        && e.getValue().isTextual()) {
                    out.add(e.getValue().asText());
                } else {
                    collect(e.getValue(), out);
                }
            });
        } else if (node.isArray()) {
            node.forEach(n -> collect(n, out));
        }
    }

    static Set<String> seriesIn(List<String> expressions) {
        Set<String> out = new TreeSet<>();
        for (String e : expressions) {
            Matcher m = SERIES.matcher(e);
            while (m.find()) {
                out.add(m.group());
            }
        }
        return out;
    }

    static final Set<String> EXPORTED = MetricNames.ALL.stream().flatMap(m -> m.prometheusSeries().stream())
            .collect(Collectors.toCollection(TreeSet::new));

    @Test
    void everyQueriedSeriesIsOneTheMetricsClassesRegister() throws Exception {
        Set<String> queried = seriesIn(expressions(dashboard()));
        assertFalse(queried.isEmpty());
        Set<String> unknown = new TreeSet<>(queried);
        unknown.removeAll(EXPORTED);
        assertEquals(Set.of(), unknown, "the dashboard queries series no metric class registers");
    }

    @Test
    void everyRegisteredMetricHasAPanel() throws Exception {
        Set<String> queried = seriesIn(expressions(dashboard()));
        List<String> missing = MetricNames.ALL.stream().map(m -> m.prometheusSeries().get(0))
                .filter(s -> !queried.contains(s)).toList();
        assertEquals(List.of(), missing, "metrics without a dashboard panel");
    }

    @Test
    void panelsUseTheDatasourceVariableAndHaveUniqueIds() throws Exception {
        JsonNode d = dashboard();
        assertEquals("routing-replay", d.path("uid").asText());
        Set<Integer> ids = new TreeSet<>();
        for (JsonNode p : d.path("panels")) {
            assertTrue(ids.add(p.path("id").asInt()), "duplicate panel id " + p.path("id"));
            for (JsonNode t : p.path("targets")) {
                assertEquals("${datasource}", t.path("datasource").path("uid").asText(), p.path("title").asText());
            }
        }
    }

    @Test
    void theCheckCatchesAMisspelledSeries() {
        Set<String> queried = seriesIn(List.of(
                "sum(rate(flink_taskmanager_job_task_operator_routing_replay_decode_token_per_second[1m]))"));
        assertFalse(EXPORTED.containsAll(queried));
    }
}
