package io.routingreplay.schemas.codec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecordBase;

/**
 * Plain Avro binary (no container, no header) for one record type: for Flink state, where the serializer's own
 * version says which schema wrote the bytes. Topics carry {@link SingleObjectCodec} instead (a schema fingerprint in
 * every record). A reader built with {@link #readingFrom(Class, Schema)} resolves records written with an older
 * schema.
 * Not thread-safe; one per operator instance.
 */
public final class AvroCodec<T extends SpecificRecordBase> {

    private final SpecificDatumWriter<T> writer;
    private final SpecificDatumReader<T> reader;
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(256);
    private BinaryEncoder encoder;
    private BinaryDecoder decoder;

    private AvroCodec(Class<T> type, Schema writerSchema) {
        Schema current = org.apache.avro.specific.SpecificData.get().getSchema(type);
        this.writer = new SpecificDatumWriter<>(current);
        this.reader = new SpecificDatumReader<>(writerSchema, current);
    }

    public static <T extends SpecificRecordBase> AvroCodec<T> of(Class<T> type) {
        return new AvroCodec<>(type, org.apache.avro.specific.SpecificData.get().getSchema(type));
    }

    /** Reads bytes written with {@code writerSchema} (an older version) into the current class. */
    public static <T extends SpecificRecordBase> AvroCodec<T> readingFrom(Class<T> type, Schema writerSchema) {
        return new AvroCodec<>(type, writerSchema);
    }

    public byte[] encode(T record) {
        buffer.reset();
        encoder = EncoderFactory.get().directBinaryEncoder(buffer, encoder);
        try {
            writer.write(record, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + record.getSchema().getName(), e);
        }
        return buffer.toByteArray();
    }

    /**
     * @throws IOException when the bytes are not a record of this schema (truncated, garbage, wrong type); the
     *                     message says where decoding stopped
     */
    public T decode(byte[] bytes) throws IOException {
        decoder = DecoderFactory.get().binaryDecoder(bytes, decoder);
        T record;
        try {
            record = reader.read(null, decoder);
        } catch (RuntimeException e) {
            // Avro reports malformed input as AvroRuntimeException, ArrayIndexOutOfBounds, NegativeArraySize...
            throw new IOException(e.getClass().getSimpleName() + ": " + e.getMessage(), e);
        }
        if (!decoder.isEnd()) {
            throw new IOException("trailing bytes after the record: not a single " + reader.getSchema().getName());
        }
        return record;
    }
}
