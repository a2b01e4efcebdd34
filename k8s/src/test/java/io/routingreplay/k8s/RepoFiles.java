package io.routingreplay.k8s;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Files of the repository, found from wherever the test runs (the k8s module or the repository root). */
final class RepoFiles {

    static final Path ROOT = findRoot();
    static final Path K8S = ROOT.resolve("k8s");

    private static Path findRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("k8s/base/kustomization.yaml"))) {
                return p;
            }
        }
        throw new IllegalStateException("run from inside the repository: no k8s/base/kustomization.yaml above "
                + Path.of("").toAbsolutePath());
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private RepoFiles() {
    }
}
