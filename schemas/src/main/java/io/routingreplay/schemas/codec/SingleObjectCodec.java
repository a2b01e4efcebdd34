package io.routingreplay.schemas.codec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.SchemaStore;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecordBase;

/**
 * The bytes of one record on a Kafka topic (prompts, results, dead letters, token stream): Avro single-object
 * encoding, i.e. {@code C3 01}, the writer schema's 8-byte CRC-64-AVRO fingerprint (little-endian), then the record
 * in plain Avro binary. Written with the current schema; read by looking the fingerprint up in the record's
 * {@link SchemaHistory} and resolving that writer schema into the current one, so a producer still on an older
 * released version is read, with defaults for the fields it does not know.
 *
 * <p>Anything else is refused with an {@link IOException} whose message says what was expected: bytes without the
 * header (e.g. plain Avro binary from a producer that does not frame), a fingerprint of no released version, a
 * truncated record or bytes left over after it. Before decoding, the record is skipped through with the writer
 * schema (strings and arrays skipped, never allocated; running past the end fails), so a garbage length prefix
 * cannot make the reader allocate what it claims. Thread-safe.
 */
public final class SingleObjectCodec<T extends SpecificRecordBase> {

    /** The marker of single-object encoding, version 1. */
    public static final byte[] MAGIC = {(byte) 0xC3, 0x01};
    /** Magic + fingerprint: where the record's Avro binary starts. */
    public static final int HEADER_BYTES = MAGIC.length + 8;

    private final String recordName;
    private final SchemaHistory history;
    private final BinaryMessageEncoder<T> encoder;
    private final BinaryMessageDecoder<T> decoder;

    private SingleObjectCodec(Class<T> type, SchemaHistory history) {
        SpecificData model = SpecificData.getForClass(type);
        Schema current = model.getSchema(type);
        this.recordName = current.getName();
        this.history = history;
        this.encoder = new BinaryMessageEncoder<>(model, current);
        // Writer schemas come from the committed history: resolution from any released version to the current one.
        SchemaStore.Cache released = new SchemaStore.Cache();
        for (SchemaHistory.Version v : history.versions()) {
            released.addSchema(v.schema());
        }
        this.decoder = new BinaryMessageDecoder<>(model, current, released);
    }

    /** The codec of a wire record, reading every version in {@code avro-history/<Record>-v<N>.avsc}. */
    public static <T extends SpecificRecordBase> SingleObjectCodec<T> of(Class<T> type) {
        return new SingleObjectCodec<>(type, SchemaHistory.of(SpecificData.get().getSchema(type).getName()));
    }

    public SchemaHistory history() {
        return history;
    }

    public byte[] encode(T record) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try {
            encoder.encode(record, out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + recordName, e);
        }
        return out.toByteArray();
    }

    /** True when the bytes start with the single-object header (says nothing about the rest). */
    public static boolean isFramed(byte[] bytes) {
        return bytes != null && bytes.length >= HEADER_BYTES && bytes[0] == MAGIC[0] && bytes[1] == MAGIC[1];
    }

    /** The writer's fingerprint of framed bytes (see {@link #isFramed}). */
    public static long fingerprintOf(byte[] bytes) {
        return ByteBuffer.wrap(bytes, MAGIC.length, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** The released version that wrote these framed bytes, if it is one. */
    public Optional<SchemaHistory.Version> writerOf(byte[] bytes) {
        return isFramed(bytes) ? history.byFingerprint(fingerprintOf(bytes)) : Optional.empty();
    }

    /**
     * @throws IOException when the bytes are not one single-object {@code recordName} of a released version; the
     *                     message says which expectation failed
     */
    public T decode(byte[] bytes) throws IOException {
        if (!isFramed(bytes)) {
            throw new IOException("not an Avro single-object " + recordName + ": expected the header C3 01 and an "
                    + "8-byte schema fingerprint, got " + firstBytes(bytes));
        }
        long fingerprint = fingerprintOf(bytes);
        SchemaHistory.Version writer = history.byFingerprint(fingerprint).orElseThrow(() -> new IOException(
                "unknown schema fingerprint " + SchemaHistory.wireHex(fingerprint) + ": not a released " + recordName
                        + " schema (released: " + history.describe() + ")"));
        boolean wholeRecord;
        try {
            BinaryDecoder probe = DecoderFactory.get().binaryDecoder(bytes, HEADER_BYTES,
                    bytes.length - HEADER_BYTES, null);
            GenericDatumReader.skip(writer.schema(), probe);
            wholeRecord = probe.isEnd();
        } catch (IOException | RuntimeException e) {
            // Avro reports malformed input as EOFException, AvroRuntimeException, ArrayIndexOutOfBounds...
            throw new IOException(notARecord(writer, e), e);
        }
        if (!wholeRecord) {
            throw new IOException("bytes left over after the " + recordName + " v" + writer.number() + " record");
        }
        try {
            return decoder.decode(bytes);
        } catch (IOException | RuntimeException e) {
            throw new IOException(notARecord(writer, e), e);
        }
    }

    private String notARecord(SchemaHistory.Version writer, Exception e) {
        return "not a " + recordName + " v" + writer.number() + " record after its header (" + e.getClass().getSimpleName()
                + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")";
    }

    /** Up to the first 12 bytes in hex, for messages. */
    public static String firstBytes(byte[] bytes) {
        if (bytes == null) {
            return "no bytes (null)";
        }
        if (bytes.length == 0) {
            return "0 bytes";
        }
        String hex = HexFormat.ofDelimiter(" ").withUpperCase().formatHex(Arrays.copyOf(bytes,
                Math.min(bytes.length, 12)));
        return hex + (bytes.length > 12 ? " … (" + bytes.length + " bytes)" : "");
    }
}
