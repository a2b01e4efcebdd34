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
        assertTrue(text.contains("org.jcuda.*|ai.djl.*|net.java.dev.jna.*) ;;"),
                "the JNI jars must be kept out of usrlib/");
        assertEquals("/opt/flink/usrlib/routing-replay-job.jar", Dockerfile.JOB_JAR);
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
