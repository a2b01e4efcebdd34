package io.routingreplay.runtime.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.routingreplay.runtime.model.Architectures;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The reference fixtures whose architecture this engine runs: a test over "every fixture" picks up each new
 * architecture's fixture as soon as the architecture lands, instead of a hand-kept list that falls behind.
 */
public final class RunnableFixtures {
    private RunnableFixtures() {
    }

    public static List<String> names() {
        try (Stream<Path> dirs = Files.list(Fixtures.root())) {
            return dirs.filter(d -> Files.isRegularFile(d.resolve("reference.json")))
                    .filter(RunnableFixtures::runs)
                    .map(d -> d.getFileName().toString())
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean runs(Path dir) {
        try {
            String type = new ObjectMapper().readTree(dir.resolve("config.json").toFile()).path("model_type").asText();
            return Architectures.ALL.stream().anyMatch(a -> a.modelType().equals(type));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
