package io.routingreplay.operators.inference;

import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.codec.AvroCodec;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

/**
 * Versioned bytes of {@link InFlightRequest} for the inference operator's checkpoint. The request is plain Avro
 * binary written with the current {@link InferenceRequest} schema, and the state names that schema's version, so a
 * later build reads it by schema resolution from the committed writer schema ({@link InferenceRequestSchemas});
 * the progress fields are written here. A new layout of the progress fields gets a new serializer version and a
 * branch in {@link #deserialize}; a new request schema only a new history file. Either way checkpoints and
 * savepoints taken by older jobs stay readable ({@code InFlightStateRestoreTest} restores a committed snapshot of
 * every version).
 *
 * <p>The request goes through {@link AvroCodec} (plain Avro binary, the codec for state), not the topics'
 * single-object codec, so the state format does not change when the Kafka payload format does.
 *
 * <p>Version 1: avro(request, InferenceRequest v1) | seed | admittedAt | attempt | nextSeq | nextPosition |
 * firstTokenAt | numOutputs | numOutputs × (token, logprob).
 * <br>Version 2: requestSchemaVersion | then as version 1, the request written with that schema version.
 */
public final class InFlightRequestSerializer implements SimpleVersionedSerializer<InFlightRequest> {

    public static final int VERSION = 2;

    private final AvroCodec<InferenceRequest> writer = AvroCodec.of(InferenceRequest.class);
    /** Readers from each writer schema version met so far to the current class. */
    private final Map<Integer, AvroCodec<InferenceRequest>> readers = new HashMap<>();

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(InFlightRequest f) throws IOException {
        byte[] request = writer.encode(f.request);
        DataOutputSerializer out = new DataOutputSerializer(request.length + 72 + f.numOutputs * 8);
        out.writeInt(InferenceRequestSchemas.CURRENT_VERSION);
        out.writeInt(request.length);
        out.write(request);
        out.writeLong(f.seed);
        out.writeLong(f.admittedAt);
        out.writeInt(f.attempt);
        out.writeLong(f.nextSeq);
        out.writeInt(f.nextPosition);
        out.writeLong(f.firstTokenAt);
        out.writeInt(f.numOutputs);
        for (int i = 0; i < f.numOutputs; i++) {
            out.writeInt(f.outputs[i]);
            out.writeFloat(f.logprobs[i]);
        }
        return out.getCopyOfBuffer();
    }

    @Override
    public InFlightRequest deserialize(int version, byte[] serialized) throws IOException {
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        int requestSchema = switch (version) {
            case 1 -> 1;
            case 2 -> in.readInt();
            default -> throw new IOException("in-flight request state version " + version + " is unknown to this "
                    + "build (it reads 1.." + VERSION + "); restore with the job version that wrote the checkpoint "
                    + "or a newer one");
        };
        byte[] request = new byte[in.readInt()];
        in.readFully(request);
        InferenceRequest r = readRequest(requestSchema, request);
        long seed = in.readLong();
        long admittedAt = in.readLong();
        int attempt = in.readInt();
        long nextSeq = in.readLong();
        int nextPosition = in.readInt();
        long firstTokenAt = in.readLong();
        int n = in.readInt();
        int[] outputs = new int[Math.max(n, 8)];
        float[] logprobs = new float[Math.max(n, 8)];
        for (int i = 0; i < n; i++) {
            outputs[i] = in.readInt();
            logprobs[i] = in.readFloat();
        }
        return new InFlightRequest(r, seed, admittedAt, attempt, nextSeq, nextPosition, outputs, logprobs, n,
                firstTokenAt);
    }

    private InferenceRequest readRequest(int schemaVersion, byte[] bytes) throws IOException {
        AvroCodec<InferenceRequest> reader = readers.get(schemaVersion);
        if (reader == null) {
            reader = AvroCodec.readingFrom(InferenceRequest.class, InferenceRequestSchemas.writerSchema(schemaVersion));
            readers.put(schemaVersion, reader);
        }
        try {
            return reader.decode(bytes);
        } catch (IOException e) {
            throw new IOException("cannot read a request of InferenceRequest schema version " + schemaVersion
                    + " from the in-flight state: " + e, e);
        }
    }
}
