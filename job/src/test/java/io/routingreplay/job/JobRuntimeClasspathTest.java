package io.routingreplay.job;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the job brings to a cluster: its runtime classpath is what the shaded jar (job-VERSION-flink.jar) is made
 * of, and the image's usrlib/ holds that jar alone. A Kafka broker, Scala, JUnit or any test kit there would ship to
 * every TaskManager (issue 17: kafka-test-common-runtime once put ~16 MB of them in the image); they belong to the
 * cli module (local mode). Reads target/runtime-dependencies.txt, which job/pom.xml has maven-dependency-plugin's
 * {@code list} goal write (scope runtime) before the tests run.
 */
class JobRuntimeClasspathTest {

    private static final Pattern ANSI = Pattern.compile("\u001B\\[[0-9;]*m");
    private static final Pattern ARTIFACT = Pattern.compile("^\\s+([\\w.-]+):([\\w.-]+):([\\w-]+)(?::([\\w.-]+))?:([\\w.-]+)(?:\\s.*)?$");

    private static List<String> runtimeArtifacts() throws IOException {
        Path list = Path.of("target", "runtime-dependencies.txt");
        assertTrue(Files.isRegularFile(list), list.toAbsolutePath() + " is written by job/pom.xml's list-runtime-deps execution");
        return Files.readAllLines(list).stream()
                .map(line -> ANSI.matcher(line).replaceAll(""))   // Maven colours the list when it runs in a terminal
                .map(ARTIFACT::matcher)
                .filter(Matcher::matches)
                // groupId:artifactId:type[:classifier]
                .map(m -> m.group(1) + ":" + m.group(2) + ":" + m.group(3) + (m.group(4) == null ? "" : ":" + m.group(4)))
                .toList();
    }

    @Test
    void noBrokerScalaJUnitOrTestKitOnTheJobsRuntimeClasspath() throws IOException {
        List<String> artifacts = runtimeArtifacts();
        assertTrue(artifacts.contains("org.apache.kafka:kafka-clients:jar"),
                "the list was read (the Kafka client must be there): " + artifacts);
        List<String> forbidden = artifacts.stream().filter(JobRuntimeClasspathTest::isBrokerScalaOrTestCode).toList();
        assertEquals(List.of(), forbidden, "only the cli module (local mode) may depend on these");
    }

    @Test
    void flinksOwnArtifactsAreProvidedNotShipped() throws IOException {
        List<String> flink = runtimeArtifacts().stream()
                .filter(a -> a.matches("org\\.apache\\.flink:flink-(core|core-api|runtime|streaming-java|clients|java|"
                        + "annotations|metrics-core|rpc-core|rpc-akka-loader|shaded-[\\w-]+):.*"))
                .toList();
        assertEquals(List.of(), flink, "a second flink-runtime in the user jar breaks class loading: mark it provided");
    }

    /** The broker (Scala {@code kafka_2.13}, {@code kafka-server*}, raft, storage, ...), Scala, test frameworks and kits. */
    static boolean isBrokerScalaOrTestCode(String artifact) {
        String[] parts = artifact.split(":");
        String group = parts[0];
        String name = parts[1];
        String type = parts[2];
        String classifier = parts.length > 3 ? parts[3] : "";
        return (group.equals("org.apache.kafka") && !name.equals("kafka-clients"))
                || group.startsWith("org.scala-lang")
                || group.equals("junit") || group.startsWith("org.junit") || group.equals("org.opentest4j")
                || group.equals("org.mockito") || group.equals("org.assertj") || group.equals("org.hamcrest")
                || name.contains("test") || type.equals("test-jar") || classifier.equals("tests");
    }
}
