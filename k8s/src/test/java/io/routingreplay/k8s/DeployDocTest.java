package io.routingreplay.k8s;

import io.routingreplay.operators.metrics.MetricNames;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** docs/deploy.md names every metric by its Prometheus name, and every repository file it points to exists. */
class DeployDocTest {

    static final String DOC = RepoFiles.read(RepoFiles.ROOT.resolve("docs/deploy.md"));

    @Test
    void everyMetricIsDocumentedUnderItsPrometheusName() {
        List<String> missing = MetricNames.ALL.stream().map(m -> m.prometheusSeries().get(0))
                .filter(name -> !DOC.contains("`" + name + "`")).toList();
        assertEquals(List.of(), missing);
    }

    @Test
    void theDocumentedPrometheusNamesAreAllRegistered() {
        Matcher m = DashboardTest.SERIES.matcher(DOC);
        TreeSet<String> unknown = new TreeSet<>();
        while (m.find()) {
            String name = m.group().replaceAll("_$", "");
            if (!DashboardTest.EXPORTED.contains(name) && !name.equals(MetricNames.PROMETHEUS_PREFIX.replaceAll("_$", ""))) {
                unknown.add(name);
            }
        }
        assertEquals(new TreeSet<>(), unknown);
    }

    @Test
    void everyRepositoryPathItMentionsExists() {
        Matcher m = Pattern.compile("`((?:k8s|docs|job|operators)/[\\w./-]+)`").matcher(DOC);
        TreeSet<String> missing = new TreeSet<>();
        while (m.find()) {
            String path = m.group(1);
            if (!path.startsWith("k8s/overlays/mine") && !Files.exists(RepoFiles.ROOT.resolve(path))) {
                missing.add(path);
            }
        }
        assertEquals(new TreeSet<>(), missing);
    }

    @Test
    void theApplyCommandsNameRealOverlays() {
        Matcher m = Pattern.compile("kubectl apply -k (k8s/overlays/[\\w-]+)").matcher(DOC);
        int found = 0;
        while (m.find()) {
            found++;
            if (!m.group(1).endsWith("/mine")) {
                assertTrue(Files.isRegularFile(RepoFiles.ROOT.resolve(m.group(1)).resolve("kustomization.yaml")),
                        m.group(1));
            }
        }
        assertTrue(found >= 2);
    }
}
