package io.routingreplay.operators.inference;

import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.codec.SchemaHistory;
import java.io.IOException;
import java.util.List;
import org.apache.avro.Schema;

/**
 * The writer schemas of {@link InferenceRequest} that checkpointed state may hold, by version: the committed files
 * {@code avro-history/InferenceRequest/v<N>.avsc} of the schemas module. State written by this build names
 * {@link #CURRENT_VERSION}; bytes of an older version are read by Avro schema resolution (writer = that version,
 * reader = the current class), so adding a field with a default keeps every checkpoint and savepoint restorable.
 */
final class InferenceRequestSchemas {

    /** The version of {@code InferenceRequest.avsc} this build was generated from (v2 added engine_failures, v3 routing_start and return_routing, v4 forced_routing and prompt_logprobs). */
    static final int CURRENT_VERSION = 4;

    static final String HISTORY = "/avro-history/InferenceRequest/";

    private InferenceRequestSchemas() {
    }

    /**
     * @throws IOException when this build knows no such version (state written by a newer job)
     */
    static Schema writerSchema(int version) throws IOException {
        if (version < 1 || version > CURRENT_VERSION) {
            throw new IOException("the in-flight state holds requests of InferenceRequest schema version " + version
                    + ", unknown to this build (it knows 1.." + CURRENT_VERSION + "); restore with the job version "
                    + "that wrote the checkpoint or a newer one");
        }
        List<SchemaHistory.Version> versions = SchemaHistory.ofState("InferenceRequest").versions();
        if (version > versions.size()) {
            throw new IllegalStateException(HISTORY + "v" + version + ".avsc is missing from the schemas jar");
        }
        return versions.get(version - 1).schema();
    }
}
