package io.routingreplay.job.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the repository (and so the bundled fixtures) is: $ROUTING_REPLAY_HOME, else above cli/target/*.jar. */
final class RepoHome {

    private RepoHome() {
    }

    static Path find() {
        String env = System.getenv("ROUTING_REPLAY_HOME");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        try {
            Path p = Path.of(RepoHome.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path dir = p; dir != null; dir = dir.getParent()) {
                if (Files.isDirectory(dir.resolve("fixtures")) && Files.isRegularFile(dir.resolve("pom.xml"))) {
                    return dir;
                }
            }
        } catch (Exception e) {
            // fall through to the working directory
        }
        return Path.of("").toAbsolutePath();
    }
}
