package io.routingreplay.operators.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.operators.results.ReplayReports;
import io.routingreplay.operators.validation.DeadLetters;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.routing.ForcedRouting;
import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingRecord;
import io.routingreplay.runtime.routing.RoutingSelection;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.PromptBatch;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.junit.jupiter.api.Test;

/**
 * The inference operator's checkpoint keeps a request's replay inputs (InferenceRequest v4: {@code forced_routing},
 * {@code prompt_logprobs}), so a request restored mid-generation is still forced and scored and its final event
 * carries the report the engine alone gives; and state written before v4 (request schema v3 in state version 2)
 * still reads, as a request without replay inputs.
 */
class InFlightReplayInputsTest {

    static final RoutingLayout LAYOUT = new RoutingLayout(new int[] {0, 1, 2, 3}, 4, 16);

    @Test
    void forcedRoutingAndPromptLogprobsSurviveTheStateSerializer() throws Exception {
        InferenceRequest r = InferenceRequest.newBuilder().setRid("f").setModel("m")
                .setPromptTokenIds(List.of(1, 2, 3)).setMaxNewTokens(4).setTemperature(0f).setTopP(1f).setTopK(0)
                .setForcedRouting(ByteBuffer.wrap(new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}))
                .setPromptLogprobs(true).build();
        InFlightRequestSerializer s = new InFlightRequestSerializer();
        InFlightRequest back = s.deserialize(s.getVersion(), s.serialize(new InFlightRequest(r, 1L, 2L)));
        assertEquals(r, back.request);
        GenerationRequest g = InferenceOperator.toGenerationRequest(back, LAYOUT);
        assertEquals(1, g.forcedRouting().numPositions());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, g.forcedRouting().ids());
        assertTrue(g.promptLogprobs());
    }

    /** Bytes as a job before InferenceRequest v4 wrote them: state version 2 holding a request of schema v3. */
    @Test
    void stateWrittenWithTheRequestSchemaBeforeReplayInputsReadsWithout() throws Exception {
        InferenceRequest current = InferenceRequest.newBuilder().setRid("old").setModel("m")
                .setPromptTokenIds(List.of(5, 6, 7)).setMaxNewTokens(3).setTemperature(0.5f).setTopP(0.9f).setTopK(4)
                .setSeed(11L).setRoutingStart(2).setReturnRouting(true).setEngineFailures(1).build();
        Schema v3 = InferenceRequestSchemas.writerSchema(3);
        assertNull(v3.getField("forced_routing"), "v3 predates forced_routing");
        GenericRecord old = new GenericData.Record(v3);
        for (Schema.Field f : v3.getFields()) {
            old.put(f.name(), current.get(current.getSchema().getField(f.name()).pos()));
        }
        ByteArrayOutputStream avro = new ByteArrayOutputStream();
        BinaryEncoder enc = EncoderFactory.get().binaryEncoder(avro, null);
        new GenericDatumWriter<GenericRecord>(v3).write(old, enc);
        enc.flush();
        DataOutputSerializer out = new DataOutputSerializer(256);
        out.writeInt(3);                      // the request's schema version
        out.writeInt(avro.size());
        out.write(avro.toByteArray());
        out.writeLong(11L);                   // seed
        out.writeLong(100L);                  // admittedAt
        out.writeInt(1);                      // attempt
        out.writeLong(4L);                    // nextSeq
        out.writeInt(4);                      // nextPosition
        out.writeLong(120L);                  // firstTokenAt
        out.writeInt(2);                      // outputs so far
        out.writeInt(9);
        out.writeFloat(-0.5f);
        out.writeInt(10);
        out.writeFloat(-1.5f);

        InFlightRequest f = new InFlightRequestSerializer().deserialize(2, out.getCopyOfBuffer());
        assertEquals(current, f.request, "every v3 field as written; the v4 fields take their defaults");
        assertNull(f.request.getForcedRouting());
        assertFalse(f.request.getPromptLogprobs());
        assertEquals(4, f.nextPosition());
        assertArrayEquals(new int[] {9, 10}, f.outputsSoFar());
        GenerationRequest g = InferenceOperator.toGenerationRequest(f, LAYOUT);
        assertNull(g.forcedRouting());
        assertFalse(g.promptLogprobs());
    }

    /** Snapshot mid-generation, restore into a new operator: the final events carry the engine's own reports. */
    @Test
    void aRequestRestoredMidGenerationIsStillForcedAndScored() throws Exception {
        Random rnd = new Random(44);
        List<GenerationRequest> plain = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int[] prompt = new int[12 + rnd.nextInt(10)];
            for (int t = 0; t < prompt.length; t++) {
                prompt[t] = rnd.nextInt(150_000);
            }
            plain.add(new GenerationRequest("p" + i, prompt, SamplingParams.greedy(10)));
        }
        Map<String, GenerationResult> free = InferenceOperatorTest.offline(plain);
        List<GenerationRequest> replay = new ArrayList<>();
        for (GenerationRequest p : plain) {
            int[] shifted = ForcedRouting.of(free.get(p.rid()).routing(), 6).ids().clone();
            for (int i = 0; i < shifted.length; i++) {
                shifted[i] = (shifted[i] + 3) % 16;
            }
            replay.add(new GenerationRequest(p.rid(), p.promptTokenIds(), p.params(), RoutingSelection.ALL,
                    new ForcedRouting(6, shifted), true));
        }
        Map<String, GenerationResult> offline = InferenceOperatorTest.offline(replay);

        List<TokenRoutingEvent> all = new ArrayList<>();
        OperatorSubtaskState snapshot;
        try (var h = InferenceOperatorTest.harness(64)) {
            h.open();
            h.processElement(new StreamRecord<>(batch(replay)));
            InferenceOperatorTest.emitSteps(h, 3);
            assertTrue(((InferenceOperator) h.getOperator()).numInFlight() > 0, "requests mid-generation");
            all.addAll(h.extractOutputValues());
            snapshot = h.snapshot(1, 1);
        }
        try (var h = InferenceOperatorTest.harness(64)) {
            h.initializeState(snapshot);
            h.open();
            h.endInput();
            assertNull(h.getSideOutput(DeadLetters.TAG));
            all.addAll(h.extractOutputValues());
        }
        int finals = 0;
        for (TokenRoutingEvent e : all) {
            if (e.getFinishReason() == null) {
                continue;
            }
            finals++;
            GenerationResult want = offline.get(e.getRid());
            assertEquals(ReplayReports.toWire(want.replay()), e.getForcedRouting(), e.getRid() + " forced report");
            List<Float> scores = new ArrayList<>();
            for (float lp : want.replay().promptLogprobs()) {
                scores.add(lp);
            }
            assertEquals(scores, e.getPromptLogprobs(), e.getRid() + " prompt logprobs");
            assertTrue(e.getForcedRouting().getCellsReproduced() < e.getForcedRouting().getCells(), e.getRid());
        }
        assertEquals(replay.size(), finals);
        assertTrue(all.stream().anyMatch(e -> e.getAttempt() == 1 && e.getFinishReason() != null),
                "some request finished after the restore");
    }

    static PromptBatch batch(List<GenerationRequest> reqs) {
        PromptBatch b = InferenceOperatorTest.batch(reqs);
        for (int i = 0; i < reqs.size(); i++) {
            ForcedRouting f = reqs.get(i).forcedRouting();
            b.getRequests().get(i).setForcedRouting(
                    ByteBuffer.wrap(RoutingRecord.pack(LAYOUT, f.ids(), 0, f.ids().length)));
            b.getRequests().get(i).setPromptLogprobs(reqs.get(i).promptLogprobs());
        }
        return b;
    }
}
