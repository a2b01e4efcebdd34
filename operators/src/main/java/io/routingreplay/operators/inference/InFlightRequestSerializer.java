package io.routingreplay.operators.inference;

import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.codec.AvroCodec;
import java.io.IOException;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

/**
 * Versioned bytes of {@link InFlightRequest} for the inference operator's checkpoint. The request itself is Avro
 * (so it evolves with its schema); the progress fields are written here. A new layout gets a new version number and
 * a branch in {@link #deserialize}, so checkpoints and savepoints taken by older jobs stay readable.
 *
 * <p>Version 1: avro(request) | seed | admittedAt | attempt | nextSeq | nextPosition | firstTokenAt | numOutputs |
 * numOutputs × (token, logprob).
 */
public final class InFlightRequestSerializer implements SimpleVersionedSerializer<InFlightRequest> {

    public static final int VERSION = 1;

    private final AvroCodec<InferenceRequest> requests = AvroCodec.of(InferenceRequest.class);

    @Override
    public int getVersion() {
        return VERSION;
    }

    @Override
    public byte[] serialize(InFlightRequest f) throws IOException {
        byte[] request = requests.encode(f.request);
        DataOutputSerializer out = new DataOutputSerializer(request.length + 64 + f.numOutputs * 8);
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
        if (version != 1) {
            throw new IOException("in-flight request state version " + version + " is unknown to this build (it "
                    + "reads version 1); restore with the job version that wrote the checkpoint");
        }
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        byte[] request = new byte[in.readInt()];
        in.readFully(request);
        InferenceRequest r = requests.decode(request);
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
}
