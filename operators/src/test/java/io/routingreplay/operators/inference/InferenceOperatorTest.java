package io.routingreplay.operators.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.operators.validation.DeadLetters;
import io.routingreplay.runtime.kvcache.KvCacheDtype;
import io.routingreplay.runtime.scheduler.AdmissionPolicy;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.PromptBatch;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.tasks.StreamTaskActionExecutor;
import org.apache.flink.streaming.runtime.tasks.mailbox.MailboxExecutorImpl;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The inference operator on the real engine and the bundled tiny Qwen3-MoE, against offline {@code generate}. */
class InferenceOperatorTest {

    static final Path MODEL = Path.of("..", "fixtures", "qwen3-moe-tiny").toAbsolutePath().normalize();
    static final EngineSettings SETTINGS = new EngineSettings(MODEL.toString(), "cpu", 16, 256, 0, KvCacheDtype.FP32, 64, 1, true,
            AdmissionPolicy.EAGER, 1, 1);

    static List<GenerationRequest> requests;
    static Map<String, GenerationResult> offline;

    @BeforeAll
    static void generateOffline() {
        requests = workload();
        offline = offline(requests);
    }

    /** What the engine alone returns for {@code reqs}, by rid. */
    static Map<String, GenerationResult> offline(List<GenerationRequest> reqs) {
        Map<String, GenerationResult> out = new HashMap<>();
        try (LLMEngine engine = LLMEngine.create(SETTINGS.toEngineConfig())) {
            for (GenerationResult r : engine.generate(reqs)) {
                out.put(r.rid(), r);
            }
        }
        return out;
    }

    /** 24 requests, greedy and seeded sampling, prompts of 1..20 tokens: the same list on every call. */
    static List<GenerationRequest> workload() {
        Random rnd = new Random(3);
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            int[] prompt = new int[1 + rnd.nextInt(20)];
            for (int t = 0; t < prompt.length; t++) {
                prompt[t] = rnd.nextInt(150_000);
            }
            int maxNew = 1 + rnd.nextInt(10);
            SamplingParams p = i % 2 == 0 ? SamplingParams.greedy(maxNew)
                    : new SamplingParams(maxNew, 1.0f, 0.95f, 40, 77L + i, List.of(), false, false);
            requests.add(new GenerationRequest("r" + i, prompt, p));
        }
        return requests;
    }

    static OneInputStreamOperatorTestHarness<PromptBatch, TokenRoutingEvent> harness(int maxInFlight)
            throws Exception {
        return new OneInputStreamOperatorTestHarness<>(new InferenceOperatorFactory(SETTINGS, maxInFlight, 2, 3));
    }

    static PromptBatch batch(List<GenerationRequest> reqs) {
        List<InferenceRequest> out = new ArrayList<>();
        for (GenerationRequest g : reqs) {
            List<Integer> prompt = new ArrayList<>();
            for (int t : g.promptTokenIds()) {
                prompt.add(t);
            }
            SamplingParams p = g.params();
            out.add(InferenceRequest.newBuilder().setRid(g.rid()).setModel("qwen3-moe-tiny").setPromptTokenIds(prompt)
                    .setMaxNewTokens(p.maxNewTokens()).setTemperature(p.temperature()).setTopP(p.topP())
                    .setTopK(p.topK()).setSeed(p.seed()).setMetadata(Map.of()).build());
        }
        return new PromptBatch("m#0", out);
    }

    /** Checks each rid's events are contiguous from position 0 and together equal offline generate's result. */
    static void assertSameAsOffline(List<TokenRoutingEvent> events, int expectedRids) {
        Map<String, List<TokenRoutingEvent>> byRid = new LinkedHashMap<>();
        for (TokenRoutingEvent e : events) {
            byRid.computeIfAbsent(e.getRid(), k -> new ArrayList<>()).add(e);
        }
        assertEquals(expectedRids, byRid.size());
        byRid.forEach((rid, evs) -> {
            GenerationResult want = offline.get(rid);
            ByteArrayOutputStream ids = new ByteArrayOutputStream();
            List<Integer> outputs = new ArrayList<>();
            List<Float> logprobs = new ArrayList<>();
            int next = 0;
            for (int i = 0; i < evs.size(); i++) {
                TokenRoutingEvent e = evs.get(i);
                assertEquals(i, e.getSeq(), rid + " event numbers");
                assertEquals(next, e.getFirstPosition(), rid + ": gap or duplicate at event " + i);
                assertEquals(i == 0, e.getHeader() != null, rid + ": header on the first event only");
                next += e.getNumRoutedTokens();
                byte[] b = new byte[e.getRoutingIds().remaining()];
                e.getRoutingIds().duplicate().get(b);
                ids.writeBytes(b);
                if (e.getSampledToken() >= 0) {
                    assertEquals(outputs.size(), e.getOutputIndex());
                    outputs.add(e.getSampledToken());
                    logprobs.add(e.getLogprob());
                }
                assertEquals(i == evs.size() - 1, e.getFinishReason() != null, rid + ": final flag");
            }
            assertEquals(want.routing().numTokens(), next, rid);
            assertArrayEquals(want.routing().ids(), ids.toByteArray(), rid + " routing");
            assertArrayEquals(want.outputTokenIds(), outputs.stream().mapToInt(Integer::intValue).toArray(), rid);
            for (int i = 0; i < logprobs.size(); i++) {
                assertEquals(want.outputLogprobs()[i], logprobs.get(i), rid + " logprob " + i);
            }
            assertEquals(want.finishReason().wire(), evs.get(evs.size() - 1).getFinishReason());
        });
    }

    /** Lets {@code steps} of the engine's mails out (not all): waits for mails and runs them one by one. */
    static void emitSteps(OneInputStreamOperatorTestHarness<PromptBatch, TokenRoutingEvent> h, int steps)
            throws InterruptedException {
        MailboxExecutorImpl mails = new MailboxExecutorImpl(h.getTaskMailbox(), 0, StreamTaskActionExecutor.IMMEDIATE);
        int emitted = 0;
        while (emitted < steps) {
            if (mails.tryYield()) {
                emitted++;
            } else {
                Thread.sleep(5);
            }
        }
    }

    @Test
    void eventsPerRidAreContiguousAndEqualOfflineGenerate() throws Exception {
        try (var h = harness(64)) {
            h.open();
            h.processElement(new StreamRecord<>(batch(requests.subList(0, 12))));
            h.processElement(new StreamRecord<>(batch(requests.subList(12, 24))));
            h.endInput();
            assertEquals(0, ((InferenceOperator) h.getOperator()).numInFlight());
            assertSameAsOffline(h.extractOutputValues(), 24);
            assertNull(h.getSideOutput(DeadLetters.TAG));
        }
    }

    @Test
    void inFlightCapBackpressuresWithoutLosingRequests() throws Exception {
        try (var h = harness(3)) {
            h.open();
            h.processElement(new StreamRecord<>(batch(requests)));
            // processElement returned only once fewer than 3 were unfinished: it yielded to the engine's mails.
            assertTrue(((InferenceOperator) h.getOperator()).numInFlight() < 3);
            h.endInput();
            assertSameAsOffline(h.extractOutputValues(), 24);
        }
    }

    @Test
    void aRequestTheEngineRefusesBecomesADeadLetterAndTheOthersComplete() throws Exception {
        List<GenerationRequest> reqs = new ArrayList<>(requests.subList(0, 4));
        reqs.add(new GenerationRequest("bad", new int[] {999_999}, SamplingParams.greedy(3)));
        try (var h = harness(64)) {
            h.open();
            h.processElement(new StreamRecord<>(batch(reqs)));
            h.endInput();
            assertSameAsOffline(h.extractOutputValues(), 4);
            List<DeadLetter> dl = new ArrayList<>();
            h.getSideOutput(DeadLetters.TAG).forEach(r -> dl.add(r.getValue()));
            assertEquals(1, dl.size());
            assertEquals("bad", dl.get(0).getRid());
            assertEquals(InferenceOperator.STAGE, dl.get(0).getStage());
            assertTrue(dl.get(0).getReason().contains("outside the vocabulary"), dl.get(0).getReason());
        }
    }

    /**
     * Snapshot mid-generation, then restore into a fresh operator (a new engine): the events emitted before the
     * snapshot and those after the restore form each request's record exactly once, as offline generate has it.
     */
    @Test
    void restoreFromASnapshotContinuesEachRequestWhereItsEmittedEventsStopped() throws Exception {
        List<TokenRoutingEvent> beforeSnapshot;
        OperatorSubtaskState snapshot;
        try (var h = harness(64)) {
            h.open();
            h.processElement(new StreamRecord<>(batch(requests)));
            emitSteps(h, 3);
            int inFlight = ((InferenceOperator) h.getOperator()).numInFlight();
            assertTrue(inFlight > 0, "the snapshot must catch requests mid-generation");
            beforeSnapshot = new ArrayList<>(h.extractOutputValues());
            assertTrue(!beforeSnapshot.isEmpty(), "some events went out before the snapshot");
            snapshot = h.snapshot(1, 1);
            // Whatever this operator emits after the snapshot is lost with the "failure".
        }
        try (var h = harness(64)) {
            h.initializeState(snapshot);
            h.open();
            h.endInput();
            List<TokenRoutingEvent> after = h.extractOutputValues();
            List<TokenRoutingEvent> all = new ArrayList<>(beforeSnapshot);
            all.addAll(after);
            assertSameAsOffline(all, 24);
            assertTrue(after.stream().anyMatch(e -> e.getAttempt() == 1), "restored requests are tagged attempt 1");
        }
    }

    @Test
    void inFlightStateSerializerRoundTrips() throws Exception {
        InFlightRequestSerializer s = new InFlightRequestSerializer();
        InFlightRequest f = new InFlightRequest(batch(requests.subList(1, 2)).getRequests().get(0), 42L, 7L);
        f.attempt = 2;
        f.nextSeq = 5;
        f.nextPosition = 9;
        f.addOutput(3, -0.25f);
        f.addOutput(4, -1.5f);
        f.firstTokenAt = 11;
        f.chargeEngineFailure();
        f.chargeEngineFailure();
        InFlightRequest g = s.deserialize(s.getVersion(), s.serialize(f));
        assertEquals(2, g.engineFailures());
        assertEquals(f.request, g.request);
        assertEquals(42L, g.seed());
        assertEquals(2, g.attempt());
        assertEquals(5, g.nextSeq());
        assertEquals(9, g.nextPosition());
        assertArrayEquals(new int[] {3, 4}, g.outputsSoFar());
        assertArrayEquals(new float[] {-0.25f, -1.5f}, g.logprobsSoFar());
    }
}
