package io.routingreplay.operators.assembly;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.operators.validation.DeadLetters;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.RequestHeader;
import io.routingreplay.schemas.RoutingLayoutInfo;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RoutingAssemblerTest {

    static final long TIMEOUT = 1_000;
    /** 2 MoE layers × top-2, uint8: 4 bytes per routed token. */
    static final RoutingLayoutInfo LAYOUT = RoutingLayoutInfo.newBuilder().setMoeLayerIndices(List.of(0, 1))
            .setTopK(2).setNumExperts(8).setDtype("uint8").build();

    KeyedOneInputStreamOperatorTestHarness<String, TokenRoutingEvent, RoutingResult> harness;

    @BeforeEach
    void open() throws Exception {
        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new RoutingAssembler(TIMEOUT, TimeoutClock.PROCESSING)),
                TokenRoutingEvent::getRid, Types.STRING);
        harness.open();
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
    }

    /** A 3-token prompt, 3 outputs: prefill event (positions 0-2, output 0), two decode events (3, 4). */
    static List<TokenRoutingEvent> request(String rid) {
        return List.of(
                event(rid, 0, 0, 3, 11, 0, null, true),
                event(rid, 1, 3, 1, 12, 1, null, false),
                event(rid, 2, 4, 1, 13, 2, "length", false));
    }

    static TokenRoutingEvent event(String rid, long seq, int first, int n, int token, int outputIndex, String finish,
                                   boolean header) {
        byte[] ids = new byte[n * 4];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (byte) ((first * 4 + i) % 8);
        }
        return TokenRoutingEvent.newBuilder()
                .setRid(rid).setSeq(seq).setFirstPosition(first).setNumRoutedTokens(n)
                .setRoutingIds(ByteBuffer.wrap(ids)).setSampledToken(token).setLogprob(-0.5f * (outputIndex + 1))
                .setOutputIndex(outputIndex).setFinishReason(finish).setEmittedAt(100 + seq)
                .setHeader(header ? RequestHeader.newBuilder().setModel("m").setPromptTokenIds(List.of(1, 2, 3))
                        .setMaxNewTokens(3).setSeed(5L).setLayout(LAYOUT).setSubmittedAt(1).setAdmittedAt(2)
                        .setMetadata(Map.of("k", "v")).build() : null)
                .build();
    }

    void send(TokenRoutingEvent... events) throws Exception {
        for (TokenRoutingEvent e : events) {
            harness.processElement(new StreamRecord<>(e, e.getEmittedAt()));
        }
    }

    List<DeadLetter> deadLetters() {
        List<DeadLetter> out = new ArrayList<>();
        if (harness.getSideOutput(DeadLetters.TAG) != null) {
            harness.getSideOutput(DeadLetters.TAG).forEach(r -> out.add(r.getValue()));
        }
        return out;
    }

    static void assertWhole(RoutingResult r) {
        assertEquals("a", r.getRid());
        assertEquals(List.of(1, 2, 3), r.getPromptTokenIds());
        assertEquals(List.of(11, 12, 13), r.getOutputTokenIds());
        assertEquals(List.of(-0.5f, -1.0f, -1.5f), r.getOutputLogprobs());
        assertEquals(5, r.getNumTokens());
        assertEquals(List.of(5, 2, 2), r.getRoutingShape());
        byte[] expected = new byte[20];
        for (int i = 0; i < 20; i++) {
            expected[i] = (byte) (i % 8);
        }
        byte[] got = new byte[r.getRoutingIds().remaining()];
        r.getRoutingIds().duplicate().get(got);
        assertArrayEquals(expected, got);
        assertEquals("length", r.getFinishReason());
        assertEquals(5L, r.getSeed());
        assertEquals(Map.of("k", "v"), r.getMetadata());
        assertEquals(100, r.getTimings().getFirstTokenAt());
        assertEquals(102, r.getTimings().getFinishedAt());
    }

    @Test
    void inOrderEventsBecomeOneRecordAndTheStateIsCleared() throws Exception {
        send(request("a").toArray(new TokenRoutingEvent[0]));
        List<RoutingResult> out = harness.extractOutputValues();
        assertEquals(1, out.size());
        assertWhole(out.get(0));
        assertTrue(deadLetters().isEmpty());
        // Only the "answered" marker is left, and it goes after one timeout.
        harness.setProcessingTime(harness.getProcessingTime() + TIMEOUT + 1);
        assertEquals(0, harness.numKeyedStateEntries());
        assertEquals(0, harness.numProcessingTimeTimers());
    }

    /** {@link #request} with the header asking for routing from {@code start} (or none), with weights. */
    static List<TokenRoutingEvent> requestCut(String rid, int start, boolean returned) {
        List<TokenRoutingEvent> out = new ArrayList<>();
        for (TokenRoutingEvent e : request(rid)) {
            List<Float> weights = new ArrayList<>();
            for (int i = 0; i < e.getNumRoutedTokens() * 4; i++) {
                weights.add((e.getFirstPosition() * 4 + i) / 100f);
            }
            TokenRoutingEvent.Builder b = TokenRoutingEvent.newBuilder(e).setRoutingWeights(weights);
            if (e.getHeader() != null) {
                b.setHeader(RequestHeader.newBuilder(e.getHeader()).setRoutingStart(start).setReturnRouting(returned)
                        .build());
            }
            out.add(b.build());
        }
        return out;
    }

    /** routing_start 2 of 5 routed positions: the rows of positions 2, 3, 4 (bytes 8..19), num_tokens still 5. */
    @Test
    void routingStartKeepsTheRowsFromItEvenWhenEventsArriveOutOfOrder() throws Exception {
        List<TokenRoutingEvent> events = requestCut("a", 2, true);
        send(events.get(2), events.get(0), events.get(1));
        List<RoutingResult> out = harness.extractOutputValues();
        assertEquals(1, out.size(), deadLetters().toString());
        RoutingResult r = out.get(0);
        assertEquals(5, r.getNumTokens());
        assertEquals(2, r.getRoutingStart());
        assertEquals(List.of(3, 2, 2), r.getRoutingShape());
        byte[] expected = new byte[12];
        List<Float> weights = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            expected[i] = (byte) ((8 + i) % 8);
            weights.add((8 + i) / 100f);
        }
        byte[] got = new byte[r.getRoutingIds().remaining()];
        r.getRoutingIds().duplicate().get(got);
        assertArrayEquals(expected, got);
        assertEquals(weights, r.getRoutingWeights());
        assertEquals(List.of(11, 12, 13), r.getOutputTokenIds());
    }

    /** return_routing false: routing_ids, routing_shape and routing_weights are null; the rest is whole. */
    @Test
    void noRoutingReturnedIsNullNotAnEmptyRecord() throws Exception {
        send(requestCut("a", 0, false).toArray(new TokenRoutingEvent[0]));
        List<RoutingResult> out = harness.extractOutputValues();
        assertEquals(1, out.size(), deadLetters().toString());
        RoutingResult r = out.get(0);
        assertEquals(5, r.getNumTokens());
        assertEquals(null, r.getRoutingIds());
        assertEquals(null, r.getRoutingShape());
        assertEquals(null, r.getRoutingWeights());
        assertEquals(List.of(11, 12, 13), r.getOutputTokenIds());
    }

    /** The cut happens as events are stored: the stored chunks hold no routing of positions before the start. */
    @Test
    void routingBeforeTheStartIsNotKeptInState() throws Exception {
        List<TokenRoutingEvent> events = requestCut("a", 3, true);
        send(events.get(0)); // positions 0..2, all before the start
        send(events.get(1)); // position 3, kept
        List<Integer> stored = new ArrayList<>();
        var op = (KeyedProcessOperator<?, ?, ?>) harness.getOneInputOperator();
        op.setCurrentKey("a");
        var chunks = op.getKeyedStateStore().getListState(new org.apache.flink.api.common.state.ListStateDescriptor<>(
                "chunks", new org.apache.flink.formats.avro.typeutils.AvroTypeInfo<>(TokenRoutingEvent.class)));
        for (TokenRoutingEvent c : chunks.get()) {
            stored.add(c.getRoutingIds().remaining());
        }
        assertEquals(List.of(0, 4), stored, "bytes of routing stored per chunk");
    }

    @Test
    void outOfOrderEventsAreReordered() throws Exception {
        List<TokenRoutingEvent> r = request("a");
        send(r.get(2), r.get(0), r.get(1));
        List<RoutingResult> out = harness.extractOutputValues();
        assertEquals(1, out.size());
        assertWhole(out.get(0));
    }

    @Test
    void duplicatesAreDroppedByPosition() throws Exception {
        List<TokenRoutingEvent> r = request("a");
        send(r.get(0), r.get(0), r.get(2), r.get(2), r.get(1), r.get(1));
        List<RoutingResult> out = harness.extractOutputValues();
        assertEquals(1, out.size());
        assertWhole(out.get(0));
        assertTrue(deadLetters().isEmpty());
    }

    @Test
    void aReplayAfterTheRecordWentOutIsIgnored() throws Exception {
        send(request("a").toArray(new TokenRoutingEvent[0]));
        send(request("a").toArray(new TokenRoutingEvent[0]));
        assertEquals(1, harness.extractOutputValues().size());
        assertTrue(deadLetters().isEmpty());
    }

    @Test
    void aMissingEventTimesOutAsADeadLetterAndClearsTheState() throws Exception {
        List<TokenRoutingEvent> r = request("a");
        send(r.get(0), r.get(2));
        assertTrue(harness.extractOutputValues().isEmpty());
        harness.setProcessingTime(harness.getProcessingTime() + TIMEOUT + 1);
        List<DeadLetter> dl = deadLetters();
        assertEquals(1, dl.size());
        assertEquals("a", dl.get(0).getRid());
        assertEquals(RoutingAssembler.STAGE, dl.get(0).getStage());
        assertTrue(dl.get(0).getReason().contains("no event for 1000 ms"), dl.get(0).getReason());
        assertTrue(dl.get(0).getReason().contains("gap start at positions [4]"), dl.get(0).getReason());
        assertTrue(dl.get(0).getReason().contains("received positions [0, 3)"), dl.get(0).getReason());
        assertTrue(harness.extractOutputValues().isEmpty());
        harness.setProcessingTime(harness.getProcessingTime() + TIMEOUT + 1);
        assertEquals(0, harness.numKeyedStateEntries());
    }

    @Test
    void onTheEventTimeClockTheTimeoutFollowsTheWatermark() throws Exception {
        harness.close();
        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new RoutingAssembler(TIMEOUT, TimeoutClock.EVENT)),
                TokenRoutingEvent::getRid, Types.STRING);
        harness.open();
        List<TokenRoutingEvent> r = request("a");
        send(r.get(0)); // timestamp 100
        harness.setProcessingTime(1_000_000); // wall-clock time does not matter here
        assertTrue(deadLetters().isEmpty());
        harness.processWatermark(100 + TIMEOUT - 1);
        assertTrue(deadLetters().isEmpty());
        harness.processWatermark(100 + TIMEOUT);
        assertEquals(1, deadLetters().size());
        assertTrue(deadLetters().get(0).getReason().contains("no final event"), deadLetters().get(0).getReason());
    }

    @Test
    void eachEventPushesTheTimeoutBack() throws Exception {
        List<TokenRoutingEvent> r = request("a");
        send(r.get(0));
        harness.setProcessingTime(harness.getProcessingTime() + TIMEOUT - 10);
        send(r.get(1));
        harness.setProcessingTime(harness.getProcessingTime() + TIMEOUT - 10);
        send(r.get(2));
        assertEquals(1, harness.extractOutputValues().size());
        assertTrue(deadLetters().isEmpty());
    }

    @Test
    void aTokenCountThatDoesNotAddUpIsADeadLetterNotARecord() throws Exception {
        // Final event claims output 1 but the routed positions say prompt 3 + 2 outputs - 1 = 4 ≠ 5.
        send(event("a", 0, 0, 3, 11, 0, null, true), event("a", 1, 3, 2, 12, 1, "stop", false));
        assertTrue(harness.extractOutputValues().isEmpty());
        List<DeadLetter> dl = deadLetters();
        assertEquals(1, dl.size());
        assertTrue(dl.get(0).getReason().contains("routed 5 tokens, but prompt 3 + outputs 2"), dl.get(0).getReason());
    }

    @Test
    void interleavedRequestsAreAssembledSeparately() throws Exception {
        List<TokenRoutingEvent> a = request("a");
        List<TokenRoutingEvent> b = request("b");
        send(a.get(0), b.get(0), b.get(1), a.get(1), b.get(2), a.get(2));
        List<RoutingResult> out = harness.extractOutputValues();
        assertEquals(List.of("b", "a"), out.stream().map(RoutingResult::getRid).toList());
        assertWhole(out.get(1));
    }

    @Test
    void partialRecordsSurviveASnapshotAndRestore() throws Exception {
        List<TokenRoutingEvent> r = request("a");
        send(r.get(0), r.get(2));
        var snapshot = harness.snapshot(1, 1);
        harness.close();
        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new RoutingAssembler(TIMEOUT, TimeoutClock.PROCESSING)),
                TokenRoutingEvent::getRid, Types.STRING);
        harness.initializeState(snapshot);
        harness.open();
        send(r.get(1));
        List<RoutingResult> out = harness.extractOutputValues();
        assertEquals(1, out.size());
        assertWhole(out.get(0));
    }
}
