package io.routingreplay.k8s;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The image layout the job depends on. (The image is not built here: there is no Docker engine.) */
class DockerfileTest {

    @Test
    void jniLibrariesGoToTheSystemClasspathAndTheJobToUsrlib() {
        String text = Dockerfile.TEXT;
        assertTrue(text.contains("COPY --from=build --chown=flink:flink /out/lib/ /opt/flink/lib/"));
        assertTrue(text.contains("COPY --from=build --chown=flink:flink /out/usrlib/ /opt/flink/usrlib/"));
        assertTrue(text.contains("-f k8s/docker/native-libs/pom.xml dependency:copy-dependencies -DoutputDirectory=/out/lib"),
                "lib/ is filled from the native-libs pom");
        assertEquals("/opt/flink/usrlib/routing-replay-job.jar", Dockerfile.JOB_JAR);
    }

    /**
     * usrlib/ gets the job's shaded jar alone, and the build never compiles the cli module, so the image cannot
     * carry local mode's in-process broker, Scala or Kafka's test kit (issue 17). The shaded jar's own contents are
     * checked by JobRuntimeClasspathTest (its runtime classpath) and the shade plugin's excludes below.
     */
    @Test
    void theImageGetsTheShadedJobJarAloneAndNeverTheCliModule() {
        String text = Dockerfile.TEXT;
        assertTrue(text.contains("mvn -B -q -pl job -am -DskipTests package"), "only job and the modules it needs are built");
        assertTrue(text.contains("cp \"$(find job/target -maxdepth 1 -name 'job-*-flink.jar')\" /out/usrlib/routing-replay-job.jar"),
                "usrlib/ holds the shaded jar");
        long copiesToUsrlib = text.lines().filter(l -> l.contains("/out/usrlib/") && l.contains("cp ")).count();
        assertEquals(1, copiesToUsrlib, "nothing but the shaded jar is copied to usrlib/");
        assertFalse(text.matches("(?s).*(-pl [\\w,]*cli|cli/target|copy-dependencies -DincludeScope).*"),
                "neither the cli module nor a dependency folder reaches the image");

        String jobPom = RepoFiles.read(RepoFiles.ROOT.resolve("job/pom.xml"));
        assertTrue(jobPom.contains("<shadedClassifierName>flink</shadedClassifierName>"));
        assertTrue(jobPom.contains("<mainClass>io.routingreplay.job.RoutingReplayJob</mainClass>"));
        for (String jni : new String[] {"org.jcuda:*", "ai.djl:*", "ai.djl.huggingface:*", "net.java.dev.jna:*"}) {
            assertTrue(jobPom.contains("<exclude>" + jni + "</exclude>"),
                    jni + " must stay out of the shaded jar: the image has it in lib/ (native-libs pom)");
        }
    }

    @Test
    void theNativeLibsPomBringsJCudaWithLinuxNativesAndTheTokenizers() {
        String pom = RepoFiles.read(RepoFiles.K8S.resolve("docker/native-libs/pom.xml"));
        assertTrue(pom.contains("<artifactId>jcuda</artifactId>"));
        assertTrue(pom.matches("(?s).*<artifactId>jcuda-natives</artifactId>\\s*<version>\\$\\{jcuda.version}</version>"
                + "\\s*<classifier>linux-x86_64</classifier>.*"));
        assertTrue(pom.contains("<artifactId>tokenizers</artifactId>"));
        String root = RepoFiles.read(RepoFiles.ROOT.resolve("pom.xml"));
        assertTrue(root.contains("<jcuda.version>") && root.contains("<djl.version>"),
                "versions come from the root pom, the same the job is built and tested with");
    }
}
