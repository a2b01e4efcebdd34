package io.routingreplay.schemas.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.PromptEvent;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.junit.jupiter.api.Test;

/** The committed history of every record on a topic: complete, readable by the current schema, documented. */
class SchemaHistoryTest {

    /** The records that travel on Kafka topics (the rest are Flink-internal). */
    static final List<Schema> WIRE_RECORDS = List.of(PromptEvent.getClassSchema(), RoutingResult.getClassSchema(),
            DeadLetter.getClassSchema(), TokenRoutingEvent.getClassSchema());

    @Test
    void theNewestReleasedVersionOfEveryWireRecordIsItsCurrentSchema() {
        for (Schema current : WIRE_RECORDS) {
            SchemaHistory h = SchemaHistory.of(current.getName());
            assertEquals(SchemaNormalization.parsingFingerprint64(current), h.newest().fingerprint(),
                    current.getName() + ".avsc differs from its newest released version " + h.newest()
                            + ": a changed wire record is a new avro-history/" + current.getName() + "-v"
                            + (h.newest().number() + 1) + ".avsc, never an edit of a released one");
        }
    }

    @Test
    void theCurrentSchemaReadsEveryReleasedVersion() {
        for (Schema current : WIRE_RECORDS) {
            for (SchemaHistory.Version v : SchemaHistory.of(current.getName()).versions()) {
                SchemaCompatibility.SchemaPairCompatibility c =
                        SchemaCompatibility.checkReaderWriterCompatibility(current, v.schema());
                assertEquals(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE, c.getType(),
                        current.getName() + " cannot read its " + v + ": " + c.getDescription());
            }
        }
    }

    @Test
    void promptEventHasEveryReleasedVersionAndEveryFieldAddedSinceV1HasADefault() {
        SchemaHistory h = SchemaHistory.of("PromptEvent");
        assertEquals(4, h.versions().size(), h.describe());
        assertNull(h.versions().get(1).schema().getField("routing_start"), "v2 predates routing_start");
        assertNull(h.versions().get(2).schema().getField("forced_routing"), "v3 predates forced_routing");
        Schema v1 = h.versions().get(0).schema();
        assertNull(v1.getField("metadata"), "v1 predates metadata");
        for (Schema.Field f : PromptEvent.getClassSchema().getFields()) {
            if (v1.getField(f.name()) == null) {
                assertTrue(f.hasDefaultValue(), "field " + f.name() + " was added after v1 without a default");
            }
        }
    }

    @Test
    void consecutiveVersionsDiffer() {
        for (Schema current : WIRE_RECORDS) {
            List<SchemaHistory.Version> vs = SchemaHistory.of(current.getName()).versions();
            for (int i = 1; i < vs.size(); i++) {
                assertNotEquals(vs.get(i - 1).fingerprint(), vs.get(i).fingerprint(), vs.get(i).toString());
            }
        }
    }

    /** docs/streaming.md lists every released version with its fingerprint, for readers in other languages. */
    @Test
    void theWireFormatTableInTheDocsListsEveryReleasedVersion() throws Exception {
        Path root = Path.of("").toAbsolutePath();
        while (!Files.isRegularFile(root.resolve("docs/streaming.md"))) {
            root = root.getParent();
        }
        Pattern row = Pattern.compile("^\\| `(\\w+)` \\| [^|]+ \\| v(\\d+) \\| `([0-9a-f]{16})` \\| `([^`]+)` \\|$");
        Set<String> documented = new TreeSet<>();
        for (String line : Files.readAllLines(root.resolve("docs/streaming.md"), StandardCharsets.UTF_8)) {
            Matcher m = row.matcher(line);
            if (m.matches()) {
                documented.add(m.group(1) + " v" + m.group(2) + " " + m.group(3) + " " + m.group(4));
                assertTrue(Files.isRegularFile(root.resolve(m.group(4))), m.group(4));
            }
        }
        Set<String> released = new TreeSet<>();
        for (Schema current : WIRE_RECORDS) {
            for (SchemaHistory.Version v : SchemaHistory.of(current.getName()).versions()) {
                released.add(current.getName() + " v" + v.number() + " " + v.fingerprintHex()
                        + " schemas/src/main/resources/avro-history/" + current.getName() + "-v" + v.number()
                        + ".avsc");
            }
        }
        assertEquals(released, documented);
    }
}
