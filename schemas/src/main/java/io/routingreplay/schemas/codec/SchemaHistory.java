package io.routingreplay.schemas.codec;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * Every released version of one wire record's schema, as committed in {@code avro-history/<Record>-v<N>.avsc}
 * (v1, v2, ... without gaps; the newest is the record's current schema). A record on a topic names its writer's
 * version by fingerprint ({@link SingleObjectCodec}); the history is how a reader finds that schema again to
 * resolve the record into the current one. The files are frozen: once a version is released, producers may write
 * it for as long as they run, so a change to a wire record is a new file, never an edit.
 */
public final class SchemaHistory {

    /** Where the versions live on the classpath (schemas/src/main/resources/avro-history). */
    public static final String RESOURCE_DIR = "avro-history";

    /** One released version: its number, its schema, and its CRC-64-AVRO fingerprint. */
    public record Version(int number, Schema schema, long fingerprint) {
        /** The fingerprint as the 8 bytes that follow C3 01 on the wire (little-endian), in hex. */
        public String fingerprintHex() {
            return wireHex(fingerprint);
        }

        @Override
        public String toString() {
            return "v" + number + " " + fingerprintHex();
        }
    }

    private final String recordName;
    private final List<Version> versions;

    private SchemaHistory(String recordName, List<Version> versions) {
        this.recordName = recordName;
        this.versions = List.copyOf(versions);
    }

    /** The history of the wire record named {@code recordName} (the simple name, e.g. "PromptEvent"). */
    public static SchemaHistory of(String recordName) {
        return load(recordName, n -> RESOURCE_DIR + "/" + recordName + "-v" + n + ".avsc");
    }

    /** The history of a record kept in Flink state: {@code avro-history/<recordName>/v<N>.avsc}. */
    public static SchemaHistory ofState(String recordName) {
        return load(recordName, n -> RESOURCE_DIR + "/" + recordName + "/v" + n + ".avsc");
    }

    private static SchemaHistory load(String recordName, IntFunction<String> pathOfVersion) {
        List<Version> versions = new ArrayList<>();
        for (int n = 1; ; n++) {
            String path = pathOfVersion.apply(n);
            try (InputStream in = SchemaHistory.class.getClassLoader().getResourceAsStream(path)) {
                if (in == null) {
                    break;
                }
                // one parser per file: every version defines the same names
                Schema s = new Schema.Parser().parse(in);
                versions.add(new Version(n, s, SchemaNormalization.parsingFingerprint64(s)));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + path, e);
            }
        }
        if (versions.isEmpty()) {
            throw new IllegalStateException("no released schema of " + recordName + " on the classpath (expected "
                    + pathOfVersion.apply(1) + ")");
        }
        return new SchemaHistory(recordName, versions);
    }

    public String recordName() {
        return recordName;
    }

    /** Oldest first. */
    public List<Version> versions() {
        return versions;
    }

    public Version newest() {
        return versions.get(versions.size() - 1);
    }

    public Optional<Version> byFingerprint(long fingerprint) {
        return versions.stream().filter(v -> v.fingerprint() == fingerprint).findFirst();
    }

    /** "v1 c394202d06d30d83, v2 ..." for messages. */
    public String describe() {
        return versions.stream().map(Version::toString).collect(Collectors.joining(", "));
    }

    /** A fingerprint as its wire bytes (little-endian, as single-object encoding writes it), in hex. */
    public static String wireHex(long fingerprint) {
        return HexFormat.of().formatHex(java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putLong(fingerprint).array());
    }
}
