package io.routingreplay.operators.window;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.PromptBatch;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MicroBatchWindowOperatorTest {

    static final int N = 3;
    static final long WAIT = 100;

    KeyedOneInputStreamOperatorTestHarness<String, InferenceRequest, PromptBatch> harness;

    @BeforeEach
    void open() throws Exception {
        harness = newHarness();
        harness.open();
    }

    static KeyedOneInputStreamOperatorTestHarness<String, InferenceRequest, PromptBatch> newHarness() throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(new MicroBatchWindowOperator(N, WAIT),
                InferenceRequest::getModel, Types.STRING);
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
    }

    static InferenceRequest req(String model, String rid) {
        return InferenceRequest.newBuilder().setRid(rid).setModel(model).setPromptTokenIds(List.of(1, 2))
                .setMaxNewTokens(4).setTemperature(0f).setTopP(1f).setTopK(0).setMetadata(Map.of()).build();
    }

    static List<String> rids(PromptBatch b) {
        return b.getRequests().stream().map(InferenceRequest::getRid).toList();
    }

    @Test
    void flushesWhenNPromptsArrivedWithoutWaiting() throws Exception {
        harness.processElement(new StreamRecord<>(req("m", "a")));
        harness.processElement(new StreamRecord<>(req("m", "b")));
        assertTrue(harness.extractOutputValues().isEmpty());
        harness.processElement(new StreamRecord<>(req("m", "c")));
        List<PromptBatch> out = harness.extractOutputValues();
        assertEquals(1, out.size());
        assertEquals(List.of("a", "b", "c"), rids(out.get(0)));
        assertEquals("m", out.get(0).getKey());
        assertEquals(0, harness.numProcessingTimeTimers(), "the wait timer is deleted with the flush");
        assertEquals(0, harness.numKeyedStateEntries());
    }

    @Test
    void flushesAfterTheWaitWhenFewerArrived() throws Exception {
        harness.setProcessingTime(1_000);
        harness.processElement(new StreamRecord<>(req("m", "a")));
        harness.setProcessingTime(1_050);
        harness.processElement(new StreamRecord<>(req("m", "b")));
        harness.setProcessingTime(1_099);
        assertTrue(harness.extractOutputValues().isEmpty());
        harness.setProcessingTime(1_100); // WAIT after the first of the batch, not the last
        List<PromptBatch> out = harness.extractOutputValues();
        assertEquals(1, out.size());
        assertEquals(List.of("a", "b"), rids(out.get(0)));
        assertEquals(0, harness.numKeyedStateEntries());
    }

    @Test
    void keysAreBatchedSeparately() throws Exception {
        harness.processElement(new StreamRecord<>(req("m1", "a")));
        harness.processElement(new StreamRecord<>(req("m2", "b")));
        harness.processElement(new StreamRecord<>(req("m1", "c")));
        harness.processElement(new StreamRecord<>(req("m1", "d")));
        List<PromptBatch> out = harness.extractOutputValues();
        assertEquals(1, out.size());
        assertEquals(List.of("a", "c", "d"), rids(out.get(0)));
        harness.setProcessingTime(harness.getProcessingTime() + WAIT);
        out = harness.extractOutputValues();
        assertEquals(2, out.size());
        assertEquals(List.of("b"), rids(out.get(1)));
        assertEquals("m2", out.get(1).getKey());
    }

    @Test
    void aNewBatchStartsItsOwnWait() throws Exception {
        harness.setProcessingTime(0);
        for (String rid : List.of("a", "b", "c")) {
            harness.processElement(new StreamRecord<>(req("m", rid)));
        }
        harness.setProcessingTime(50);
        harness.processElement(new StreamRecord<>(req("m", "d")));
        harness.setProcessingTime(100); // the first batch's (deleted) deadline must not flush "d"
        assertEquals(1, harness.extractOutputValues().size());
        harness.setProcessingTime(150);
        assertEquals(List.of("d"), rids(harness.extractOutputValues().get(1)));
    }

    @Test
    void endOfInputFlushesEveryKey() throws Exception {
        harness.processElement(new StreamRecord<>(req("m1", "a")));
        harness.processElement(new StreamRecord<>(req("m2", "b")));
        harness.endInput();
        List<PromptBatch> out = harness.extractOutputValues();
        assertEquals(2, out.size());
        assertEquals(0, harness.numKeyedStateEntries());
    }

    @Test
    void bufferedPromptsAndTheirTimerSurviveARestore() throws Exception {
        harness.setProcessingTime(0);
        harness.processElement(new StreamRecord<>(req("m", "a")));
        harness.processElement(new StreamRecord<>(req("m", "b")));
        OperatorSubtaskState snapshot = harness.snapshot(1, 1);
        harness.close();
        harness = newHarness();
        harness.setProcessingTime(0);
        harness.initializeState(snapshot);
        harness.open();
        harness.setProcessingTime(WAIT);
        List<PromptBatch> out = harness.extractOutputValues();
        assertEquals(1, out.size());
        assertEquals(List.of("a", "b"), rids(out.get(0)));
    }
}
