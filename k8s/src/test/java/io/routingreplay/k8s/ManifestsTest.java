package io.routingreplay.k8s;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import io.strimzi.api.kafka.model.user.acl.AclResourcePatternType;
import io.strimzi.api.kafka.model.user.acl.AclRuleTransactionalIdResource;
import io.strimzi.api.kafka.model.user.acl.AclRuleGroupResource;
import io.strimzi.api.kafka.model.user.acl.AclRuleTopicResource;
import io.strimzi.api.kafka.model.user.KafkaUserAuthorizationSimple;
import org.apache.flink.kubernetes.operator.api.FlinkDeployment;
import org.apache.flink.kubernetes.operator.api.spec.FlinkDeploymentSpec;
import org.apache.flink.kubernetes.operator.api.spec.JobSpec;
import org.apache.flink.kubernetes.operator.api.spec.UpgradeMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** What the job relies on in each rendered overlay, read through the operators' model classes. */
class ManifestsTest {

    static final String GPU = "nvidia.com/gpu";
    static final String MAIN_CONTAINER = "flink-main-container";
    static final Pattern DURABLE = Pattern.compile("(s3|s3a|s3p|gs|abfss|wasbs|oss|hdfs)://.+");

    private static Map<String, String> conf(FlinkDeployment d) {
        return d.getSpec().getFlinkConfiguration();
    }

    private static Optional<Container> mainContainer(PodTemplateSpec template) {
        if (template == null || template.getSpec() == null || template.getSpec().getContainers() == null) {
            return Optional.empty();
        }
        return template.getSpec().getContainers().stream().filter(c -> MAIN_CONTAINER.equals(c.getName()))
                .findFirst();
    }

    /** The nvidia.com/gpu limit of the TaskManager's main container, 0 if none. */
    private static int taskManagerGpus(FlinkDeploymentSpec spec) {
        return mainContainer(spec.getTaskManager().getPodTemplate())
                .map(c -> c.getResources() == null || c.getResources().getLimits() == null ? null
                        : c.getResources().getLimits().get(GPU))
                .map(q -> Quantity.getAmountInBytes(q).intValueExact())
                .orElse(0);
    }

    /** Every container of every pod template in the deployment, for checks that must hold everywhere. */
    private static List<Container> allContainers(FlinkDeploymentSpec spec) {
        return java.util.stream.Stream.of(spec.getPodTemplate(), spec.getJobManager().getPodTemplate(),
                        spec.getTaskManager().getPodTemplate())
                .filter(p -> p != null && p.getSpec() != null)
                .flatMap(p -> java.util.stream.Stream.concat(
                        Optional.ofNullable(p.getSpec().getContainers()).orElse(List.of()).stream(),
                        Optional.ofNullable(p.getSpec().getInitContainers()).orElse(List.of()).stream()))
                .toList();
    }

    private static boolean asksForGpu(Container c) {
        return c.getResources() != null
                && ((c.getResources().getLimits() != null && c.getResources().getLimits().containsKey(GPU))
                || (c.getResources().getRequests() != null && c.getResources().getRequests().containsKey(GPU)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu-dev", "gpu", "gpu-multi"})
    void isAnApplicationModeDeploymentOfTheJobJarInTheImage(String overlay) {
        Manifests m = Manifests.overlay(overlay);
        FlinkDeployment d = m.flinkDeployment();
        JobSpec job = d.getSpec().getJob();
        assertNotNull(job, "application mode needs spec.job");
        assertEquals("local:///opt/flink/usrlib/routing-replay-job.jar", job.getJarURI());
        assertEquals(Dockerfile.JOB_JAR, job.getJarURI().substring("local://".length()),
                "jarURI must be where k8s/Dockerfile puts the job jar");
        String mainSource = "job/src/main/java/" + job.getEntryClass().replace('.', '/') + ".java";
        assertTrue(java.nio.file.Files.isRegularFile(RepoFiles.ROOT.resolve(mainSource)),
                "entryClass " + job.getEntryClass() + " has no source at " + mainSource);
        assertNotNull(d.getSpec().getImage());
        assertEquals("flink", d.getSpec().getServiceAccount());
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu-dev", "gpu", "gpu-multi"})
    void flinkVersionIsTheImagesFlink2Release(String overlay) {
        Manifests m = Manifests.overlay(overlay);
        String[] v = Dockerfile.flinkVersion().split("\\.");
        assertEquals("v" + v[0] + "_" + v[1], m.flinkVersion(),
                "spec.flinkVersion must name the Flink release of the image (" + Dockerfile.flinkVersion() + ")");
        assertEquals(Dockerfile.flinkVersion().replaceAll("^(\\d+\\.\\d+).*", "$1"),
                RepoFiles.read(RepoFiles.ROOT.resolve("pom.xml"))
                        .replaceAll("(?s).*<flink.version>(\\d+\\.\\d+)[^<]*</flink.version>.*", "$1"),
                "the image's Flink must be the release the job is built against (root pom flink.version)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu-dev", "gpu", "gpu-multi"})
    void upgradesKeepStateAndCheckpointsGoToDurableStorage(String overlay) {
        FlinkDeployment d = Manifests.overlay(overlay).flinkDeployment();
        UpgradeMode mode = d.getSpec().getJob().getUpgradeMode();
        assertTrue(mode == UpgradeMode.LAST_STATE || mode == UpgradeMode.SAVEPOINT,
                "upgradeMode must keep in-flight requests (last-state or savepoint), is " + mode);
        Map<String, String> conf = conf(d);
        for (String key : List.of("execution.checkpointing.dir", "execution.checkpointing.savepoint-dir",
                "high-availability.storageDir")) {
            assertTrue(conf.containsKey(key) && DURABLE.matcher(conf.get(key)).matches(),
                    key + " must be a durable filesystem path, is " + conf.get(key));
        }
        // Operators built on Flink 1.x read the pre-2.0 keys; both spellings must name the same place.
        assertEquals(conf.get("execution.checkpointing.dir"), conf.get("state.checkpoints.dir"));
        assertEquals(conf.get("execution.checkpointing.savepoint-dir"), conf.get("state.savepoints.dir"));
        assertNotEquals(conf.get("execution.checkpointing.dir"), conf.get("execution.checkpointing.savepoint-dir"));
        assertNotNull(conf.get("execution.checkpointing.interval"), "checkpointing must be on");
        assertEquals("EXACTLY_ONCE", conf.get("execution.checkpointing.mode"));
        if (mode == UpgradeMode.LAST_STATE) {
            assertEquals("kubernetes", conf.get("high-availability.type"),
                    "last-state finds the latest checkpoint through HA metadata: HA must be on");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpu", "gpu-multi"})
    void gpuOverlaysGiveEachEngineItsTensorParallelGpusAndTheJobManagerNone(String overlay) {
        FlinkDeploymentSpec spec = Manifests.overlay(overlay).flinkDeployment().getSpec();
        int gpus = taskManagerGpus(spec);
        assertTrue(gpus >= 1, "the TaskManager's " + MAIN_CONTAINER + " must have a " + GPU + " limit");
        Map<String, String> conf = spec.getFlinkConfiguration();
        int tensorParallel = Integer.parseInt(conf.getOrDefault("engine.tensor-parallel", "1"));
        assertEquals(gpus, Integer.parseInt(conf.get("taskmanager.numberOfTaskSlots")) * tensorParallel,
                "slots x engine.tensor-parallel must equal the TaskManager's GPUs: each inference subtask owns "
                        + "its engine's GPUs");
        assertEquals("cuda", conf.get("engine.backend"));
        assertFalse(mainContainer(spec.getPodTemplate()).map(ManifestsTest::asksForGpu).orElse(false),
                "the shared pod template would give the JobManager a GPU too");
        assertTrue(spec.getJobManager().getPodTemplate() == null
                || mainContainer(spec.getJobManager().getPodTemplate()).map(c -> !asksForGpu(c)).orElse(true));
        Container main = mainContainer(spec.getTaskManager().getPodTemplate()).orElseThrow();
        Map<String, Quantity> requests = main.getResources().getRequests();
        if (requests != null && requests.containsKey(GPU)) {
            assertEquals(main.getResources().getLimits().get(GPU), requests.get(GPU),
                    "Kubernetes requires a GPU request, if given, to equal the limit");
        }
    }

    @Test
    void gpuMultiOverlaySplitsOneModelOverFourGpusPerTaskManager() {
        FlinkDeploymentSpec spec = Manifests.overlay("gpu-multi").flinkDeployment().getSpec();
        Map<String, String> conf = spec.getFlinkConfiguration();
        assertEquals(4, taskManagerGpus(spec), "four GPUs per TaskManager");
        assertEquals("4", conf.get("engine.tensor-parallel"), "one engine over all four");
        int ep = Integer.parseInt(conf.get("engine.expert-parallel"));
        assertEquals(0, 4 % ep, "engine.expert-parallel must divide engine.tensor-parallel");
        assertEquals("1", conf.get("taskmanager.numberOfTaskSlots"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu-dev", "gpu", "gpu-multi"})
    void everyTaskManagerSlotRunsOneEngine(String overlay) {
        FlinkDeploymentSpec spec = Manifests.overlay(overlay).flinkDeployment().getSpec();
        int inference = Integer.parseInt(spec.getFlinkConfiguration().get("inference.parallelism"));
        int slots = Integer.parseInt(spec.getFlinkConfiguration().get("taskmanager.numberOfTaskSlots"));
        int parallelism = spec.getJob().getParallelism();
        // Flink asks for max(operator parallelism) slots; more than the inference subtasks would start
        // TaskManagers (and GPUs) that no engine uses.
        assertTrue(parallelism <= inference, "job parallelism " + parallelism + " > inference.parallelism "
                + inference + ": slots without an engine");
        assertEquals(0, inference % slots, "inference.parallelism " + inference + " must fill whole TaskManagers of "
                + slots + " slots, or one TaskManager's GPUs sit idle");
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu-dev", "gpu", "gpu-multi"})
    void everyJobSettingIsOneTheJobDeclares(String overlay) {
        Map<String, String> conf = conf(Manifests.overlay(overlay).flinkDeployment());
        java.util.Set<String> declared = JobOptionKeys.declared();
        assertTrue(declared.contains("model.dir"), "no job ConfigOptions found in the sources: " + declared);
        java.util.Set<String> prefixes = JobOptionKeys.prefixes(declared);
        List<String> unknown = conf.keySet().stream()
                .filter(k -> prefixes.contains(k.substring(0, k.indexOf('.'))))
                .filter(k -> !declared.contains(k))
                // KafkaSecurityOptions passes any kafka.security.*, kafka.ssl.*, kafka.sasl.* through to the clients.
                .filter(k -> !k.matches("kafka\\.(security|ssl|sasl)\\..+"))
                .sorted().toList();
        assertEquals(List.of(), unknown, "settings the job does not declare (typo, or a renamed option)");
        assertEquals(java.time.Duration.parse("PT" + conf.get("job.checkpoint-interval").replace(" ", "")
                        .toUpperCase()),
                java.time.Duration.parse("PT" + conf.get("execution.checkpointing.interval").replace(" ", "")
                        .toUpperCase()),
                "the job enables checkpointing with job.checkpoint-interval; keep Flink's setting the same");
    }

    @Test
    void cpuDevOverlayAsksForNoGpuAnywhere() {
        FlinkDeploymentSpec spec = Manifests.overlay("cpu-dev").flinkDeployment().getSpec();
        assertEquals("cpu", spec.getFlinkConfiguration().get("engine.backend"));
        for (Container c : allContainers(spec)) {
            assertFalse(asksForGpu(c), "container " + c.getName() + " asks for a GPU in cpu-dev");
        }
        assertEquals(0, taskManagerGpus(spec));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu-dev", "gpu", "gpu-multi"})
    void parallelismFitsThePromptPartitionsAndTheTopicsAreTheOnesTheJobReads(String overlay) {
        Manifests m = Manifests.overlay(overlay);
        FlinkDeployment d = m.flinkDeployment();
        Map<String, String> conf = conf(d);
        Map<String, KafkaTopic> byTopicName = new java.util.HashMap<>();
        for (KafkaTopic t : m.topics()) {
            String topicName = t.getSpec().getTopicName() != null ? t.getSpec().getTopicName()
                    : t.getMetadata().getName();
            byTopicName.put(topicName, t);
            assertEquals("routing-replay", t.getMetadata().getLabels().get("strimzi.io/cluster"));
        }
        for (String key : List.of("topics.prompts", "topics.results", "topics.token-stream", "topics.dead-letters")) {
            assertTrue(byTopicName.containsKey(conf.get(key)),
                    key + " = " + conf.get(key) + " has no KafkaTopic; topics: " + byTopicName.keySet());
        }
        int prompts = byTopicName.get(conf.get("topics.prompts")).getSpec().getPartitions();
        int parallelism = d.getSpec().getJob().getParallelism();
        assertTrue(parallelism >= 1 && parallelism <= prompts, "job parallelism " + parallelism
                + " must be <= the prompts topic's " + prompts + " partitions, or source subtasks sit idle");
        int results = byTopicName.get(conf.get("topics.results")).getSpec().getPartitions();
        assertTrue(results >= parallelism, "results partitions (" + results + ") below parallelism");
        long maxMessage = Long.parseLong(String.valueOf(byTopicName.get(conf.get("topics.results")).getSpec()
                .getConfig().get("max.message.bytes")));
        assertTrue(maxMessage >= 16L << 20, "results carry whole routing records: max.message.bytes "
                + maxMessage + " is too small");
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu-dev", "gpu", "gpu-multi"})
    void theModelIsMountedReadOnlyWhereTheJobLooks(String overlay) {
        FlinkDeploymentSpec spec = Manifests.overlay(overlay).flinkDeployment().getSpec();
        String modelDir = spec.getFlinkConfiguration().get("model.dir");
        Container main = mainContainer(spec.getPodTemplate()).orElseThrow();
        var mount = main.getVolumeMounts().stream().filter(v -> modelDir.startsWith(v.getMountPath()))
                .findFirst().orElseThrow(() -> new AssertionError("no volume mounted at model.dir " + modelDir));
        assertTrue(Boolean.TRUE.equals(mount.getReadOnly()), "the model mount must be read-only");
        var volume = spec.getPodTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getName().equals(mount.getName())).findFirst().orElseThrow();
        assertNotNull(volume.getPersistentVolumeClaim(), "the model comes from a PVC");
        assertTrue(Boolean.TRUE.equals(volume.getPersistentVolumeClaim().getReadOnly()));
        assertTrue(Manifests.overlay(overlay).ofKind("v1", "PersistentVolumeClaim").stream().anyMatch(p ->
                p.path("metadata").path("name").asText().equals(volume.getPersistentVolumeClaim().getClaimName())));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu-dev", "gpu", "gpu-multi"})
    void prometheusReporterIsOnAndItsPortIsScraped(String overlay) {
        Manifests m = Manifests.overlay(overlay);
        FlinkDeploymentSpec spec = m.flinkDeployment().getSpec();
        Map<String, String> conf = spec.getFlinkConfiguration();
        assertEquals("org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
                conf.get("metrics.reporter.prom.factory.class"));
        int port = Integer.parseInt(conf.get("metrics.reporter.prom.port"));
        var containerPort = mainContainer(spec.getPodTemplate()).orElseThrow().getPorts().stream()
                .filter(p -> p.getContainerPort() == port).findFirst()
                .orElseThrow(() -> new AssertionError("the reporter's port " + port + " is not a container port"));
        var monitors = m.ofKind("monitoring.coreos.com/v1", "PodMonitor");
        assertEquals(1, monitors.size());
        assertEquals(containerPort.getName(),
                monitors.get(0).path("spec").path("podMetricsEndpoints").get(0).path("port").asText());
        String podLabel = spec.getPodTemplate().getMetadata().getLabels().get("app.kubernetes.io/name");
        assertEquals(podLabel, monitors.get(0).path("spec").path("selector").path("matchLabels")
                .path("app.kubernetes.io/name").asText(), "the PodMonitor must select the Flink pods");
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu-dev", "gpu", "gpu-multi"})
    void jniLibrariesAreNeverLoadedFromUserCode(String overlay) {
        String patterns = conf(Manifests.overlay(overlay).flinkDeployment())
                .get("classloader.parent-first-patterns.additional");
        assertNotNull(patterns);
        for (String pkg : List.of("jcuda.", "ai.djl.", "com.sun.jna.")) {
            assertTrue(List.of(patterns.split(";")).contains(pkg), pkg + " must load parent-first, from /opt/flink/lib");
        }
    }

    @Test
    void kafkaCredentialsComeFromTheKafkaUsersSecret() {
        Manifests m = Manifests.base();
        FlinkDeploymentSpec spec = m.flinkDeployment().getSpec();
        var env = mainContainer(spec.getPodTemplate()).orElseThrow().getEnv().stream()
                .filter(e -> e.getName().equals("ROUTING_REPLAY_KAFKA_SASL_JAAS_CONFIG")).findFirst().orElseThrow();
        assertNull(env.getValue());
        var ref = env.getValueFrom().getSecretKeyRef();
        assertEquals("sasl.jaas.config", ref.getKey());
        String user = m.users().get(0).getMetadata().getName();
        assertEquals(user, ref.getName(), "Strimzi writes the KafkaUser's credentials to a Secret of its name");
        assertEquals("scram-sha-512", m.users().get(0).getSpec().getAuthentication().getType());
        assertEquals("SCRAM-SHA-512", spec.getFlinkConfiguration().get("kafka.sasl.mechanism"));
    }

    @Test
    void theJobTalksToTheStrimziClusterItsTopicsAndUserBelongTo() {
        Manifests m = Manifests.base();
        String cluster = m.users().get(0).getMetadata().getLabels().get("strimzi.io/cluster");
        FlinkDeploymentSpec spec = m.flinkDeployment().getSpec();
        // Strimzi names the bootstrap Service <cluster>-kafka-bootstrap and the CA Secret <cluster>-cluster-ca-cert.
        assertEquals(cluster + "-kafka-bootstrap:9093", spec.getFlinkConfiguration().get("kafka.bootstrap-servers"));
        assertTrue(spec.getPodTemplate().getSpec().getVolumes().stream().anyMatch(v -> v.getSecret() != null
                && (cluster + "-cluster-ca-cert").equals(v.getSecret().getSecretName())));
        assertEquals("SASL_SSL", spec.getFlinkConfiguration().get("kafka.security.protocol"));
        for (KafkaTopic t : m.topics()) {
            assertEquals(cluster, t.getMetadata().getLabels().get("strimzi.io/cluster"));
        }
    }

    @Test
    void theKafkaUsersAclsCoverEveryTopicTheConsumerGroupAndTheTransactions() {
        Manifests m = Manifests.base();
        Map<String, String> conf = conf(m.flinkDeployment());
        var acl = ((KafkaUserAuthorizationSimple) m.users().get(0).getSpec()
                .getAuthorization()).getAcls();
        java.util.function.BiPredicate<String, String> allowed = (type, name) -> acl.stream().anyMatch(rule -> {
            var r = rule.getResource();
            String ruleName;
            AclResourcePatternType pattern;
            if (r instanceof AclRuleTopicResource t) {
                ruleName = t.getName();
                pattern = t.getPatternType();
            } else if (r instanceof AclRuleGroupResource g) {
                ruleName = g.getName();
                pattern = g.getPatternType();
            } else if (r instanceof AclRuleTransactionalIdResource x) {
                ruleName = x.getName();
                pattern = x.getPatternType();
            } else {
                return false;
            }
            return r.getType().equals(type) && (pattern == AclResourcePatternType.PREFIX
                    ? name.startsWith(ruleName) : name.equals(ruleName));
        });
        for (String key : List.of("topics.prompts", "topics.results", "topics.token-stream", "topics.dead-letters")) {
            assertTrue(allowed.test("topic", conf.get(key)), "no ACL for topic " + conf.get(key));
        }
        assertTrue(allowed.test("group", conf.get("kafka.group-id")), "no ACL for the consumer group");
        assertTrue(allowed.test("transactionalId", conf.get("kafka.transactional-id-prefix") + "-results"),
                "no ACL for the exactly-once sinks' transactional ids");
    }

    @Test
    void overlaysChangeOnlyWhatTheyMeanTo() {
        Manifests base = Manifests.base();
        for (String overlay : List.of("cpu-dev", "gpu", "gpu-multi")) {
            Manifests o = Manifests.overlay(overlay);
            assertEquals(base.raw.size(), o.raw.size(), overlay + " adds or drops resources");
            assertEquals(base.ofKind("kafka.strimzi.io/v1beta2", "KafkaTopic"),
                    o.ofKind("kafka.strimzi.io/v1beta2", "KafkaTopic"), "topics are the same in every overlay");
            FlinkDeployment b = base.flinkDeployment();
            FlinkDeployment d = o.flinkDeployment();
            assertEquals(b.getSpec().getJob().getJarURI(), d.getSpec().getJob().getJarURI());
            assertEquals(b.getSpec().getJob().getUpgradeMode(), d.getSpec().getJob().getUpgradeMode());
            assertEquals(conf(b).get("topics.prompts"), conf(d).get("topics.prompts"));
            // The base's env (Kafka credentials) survives the overlay's merge into the same container.
            assertTrue(mainContainer(d.getSpec().getPodTemplate()).orElseThrow().getEnv().stream()
                    .anyMatch(e -> e.getName().equals("ROUTING_REPLAY_KAFKA_SASL_JAAS_CONFIG")));
        }
    }
}
