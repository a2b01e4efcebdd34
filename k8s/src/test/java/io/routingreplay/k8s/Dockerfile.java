package io.routingreplay.k8s;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Facts read from k8s/Dockerfile, for the manifests to agree with. */
final class Dockerfile {

    static final String TEXT = RepoFiles.read(RepoFiles.K8S.resolve("Dockerfile"));
    /** Where the Dockerfile puts the job jar (its {@code cp ... /out/usrlib/NAME} + {@code COPY ... /opt/flink/usrlib/}). */
    static final String JOB_JAR = "/opt/flink/usrlib/" + find("/out/usrlib/([\\w.-]+\\.jar)");

    /** The Flink release of the base image: the default of {@code ARG FLINK_VERSION} used by {@code FROM flink:...}. */
    static String flinkVersion() {
        if (!TEXT.contains("FROM flink:${FLINK_VERSION}-java17")) {
            throw new AssertionError("the image must build FROM flink:${FLINK_VERSION}-java17");
        }
        return find("ARG FLINK_VERSION=(\\d+\\.\\d+\\.\\d+)");
    }

    static String find(String regex) {
        Matcher m = Pattern.compile(regex).matcher(TEXT);
        if (!m.find()) {
            throw new AssertionError("k8s/Dockerfile has no match for " + regex);
        }
        return m.group(1);
    }

    private Dockerfile() {
    }
}
