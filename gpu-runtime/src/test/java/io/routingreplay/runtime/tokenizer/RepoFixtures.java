package io.routingreplay.runtime.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the repository's {@code fixtures/} folder from wherever the tests run (module or repository root). */
public final class RepoFixtures {
    private RepoFixtures() {
    }

    /** {@code fixtures/<name>} of this repository; fails clearly when the checkout lacks it. */
    public static Path dir(String name) {
        Path here = Path.of("").toAbsolutePath();
        for (Path p = here; p != null; p = p.getParent()) {
            Path candidate = p.resolve("fixtures").resolve(name);
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("fixtures/" + name + " not found above " + here
                + "; the tests need the repository's fixtures/ folder");
    }
}
