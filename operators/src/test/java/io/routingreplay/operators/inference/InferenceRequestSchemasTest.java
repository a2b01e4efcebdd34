package io.routingreplay.operators.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.routingreplay.schemas.InferenceRequest;
import java.io.IOException;
import java.nio.file.Path;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.junit.jupiter.api.Test;

/** The committed history of InferenceRequest writer schemas is complete and every version reads into this build. */
class InferenceRequestSchemasTest {

    /** The source the class was generated from (the generated class's schema carries code-generation props). */
    static final Path SOURCE = Path.of("..", "schemas", "src", "main", "avro", "InferenceRequest.avsc");

    @Test
    void theCurrentVersionIsTheSchemaThisBuildWasGeneratedFrom() throws IOException {
        assertEquals(new Schema.Parser().parse(SOURCE.toFile()),
                InferenceRequestSchemas.writerSchema(InferenceRequestSchemas.CURRENT_VERSION),
                "InferenceRequest.avsc changed: copy it to avro-history/InferenceRequest/v<N+1>.avsc and raise "
                        + "InferenceRequestSchemas.CURRENT_VERSION");
    }

    @Test
    void noHistoryFileIsNewerThanTheCurrentVersion() throws IOException {
        String next = InferenceRequestSchemas.HISTORY + "v" + (InferenceRequestSchemas.CURRENT_VERSION + 1) + ".avsc";
        assertNull(InferenceRequest.class.getResource(next), next + " exists: raise CURRENT_VERSION");
        assertThrows(IOException.class,
                () -> InferenceRequestSchemas.writerSchema(InferenceRequestSchemas.CURRENT_VERSION + 1));
    }

    @Test
    void everyVersionResolvesToTheCurrentClass() throws IOException {
        for (int v = 1; v <= InferenceRequestSchemas.CURRENT_VERSION; v++) {
            SchemaCompatibility.SchemaPairCompatibility c = SchemaCompatibility.checkReaderWriterCompatibility(
                    InferenceRequest.getClassSchema(), InferenceRequestSchemas.writerSchema(v));
            assertEquals(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE, c.getType(),
                    "version " + v + ": " + c.getDescription());
        }
    }
}
