package io.routingreplay.schemas.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The Python client ships the released wire schemas as package data (an installed package cannot reach the
 * repository); they must be byte for byte the committed history, or it would resolve records with other schemas
 * than the job writes.
 */
class PythonClientSchemasTest {
    static final Path HISTORY = Path.of("src/main/resources", SchemaHistory.RESOURCE_DIR);
    static final Path CLIENT = Path.of("../clients/python/routing_replay/schemas");

    @Test
    void thePythonClientShipsExactlyTheReleasedWireSchemas() throws IOException {
        List<String> released = avscNames(HISTORY), shipped = avscNames(CLIENT);
        assertEquals(released, shipped, "clients/python/routing_replay/schemas must hold every released schema "
                + "and nothing else: cp schemas/src/main/resources/avro-history/*.avsc "
                + "clients/python/routing_replay/schemas/");
        for (String name : released) {
            assertArrayEquals(Files.readAllBytes(HISTORY.resolve(name)), Files.readAllBytes(CLIENT.resolve(name)),
                    name + " differs between avro-history and the Python client; copy it again");
        }
    }

    private static List<String> avscNames(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".avsc")).sorted().toList();
        }
    }
}
