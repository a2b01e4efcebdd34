package io.routingreplay.operators.window;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.routingreplay.schemas.PromptBatch;
import java.util.List;
import org.apache.flink.streaming.util.OperatorSnapshotUtil;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The window's buffered requests are checkpointed with Flink's Avro serializer, whose snapshot keeps the writer
 * schema: a savepoint taken before a field was added to InferenceRequest (v1: no engine_failures) restores, and
 * the requests come out whole with the new field at its default.
 */
class MicroBatchStateRestoreTest {

    @ParameterizedTest(name = "InferenceRequest schema version {0}")
    @ValueSource(ints = {1})
    void aSnapshotWithRequestsOfAnOlderSchemaRestoresAndFlushesThem(int version) throws Exception {
        try (var h = MicroBatchWindowOperatorTest.newHarness()) {
            h.setProcessingTime(1_000);
            h.initializeState(OperatorSnapshotUtil.readStateHandle(
                    MicroBatchStateFixtureWriter.fixture(version).toString()));
            h.open();
            h.setProcessingTime(1_000 + MicroBatchWindowOperatorTest.WAIT);
            List<PromptBatch> out = h.extractOutputValues();
            assertEquals(1, out.size());
            assertEquals(MicroBatchStateFixtureWriter.buffered(), out.get(0).getRequests());
            assertEquals(0, out.get(0).getRequests().get(0).getEngineFailures());
        }
    }
}
