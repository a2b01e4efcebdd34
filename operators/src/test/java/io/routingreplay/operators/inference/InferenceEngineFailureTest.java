package io.routingreplay.operators.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.operators.validation.DeadLetters;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.PromptBatch;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OperatorSnapshotUtil;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Failures that repeat are answered, not looped: a request that breaks the engine every time, and an engine that
 * cannot be made (a native library that does not load), end as dead letters with the cause after
 * {@code maxAttempts}, while the other requests complete as offline {@code generate} has them. Real CPU engines on
 * the tiny Qwen3-MoE; the failures are those of {@link FailingEngines}.
 */
class InferenceEngineFailureTest {

    static final int MAX_ATTEMPTS = 3;
    /** Outside the workload's prompts (all below 150,000), inside the vocabulary. */
    static final int POISON = 151_000;

    @BeforeAll
    static void offline() {
        InferenceOperatorTest.generateOffline();
    }

    static OneInputStreamOperatorTestHarness<PromptBatch, TokenRoutingEvent> harness(EngineFactory engines)
            throws Exception {
        return new OneInputStreamOperatorTestHarness<>(
                new InferenceOperatorFactory(InferenceOperatorTest.SETTINGS, 64, 2, MAX_ATTEMPTS, engines));
    }

    static List<DeadLetter> deadLetters(OneInputStreamOperatorTestHarness<?, ?> h) {
        List<DeadLetter> out = new ArrayList<>();
        ConcurrentLinkedQueue<StreamRecord<DeadLetter>> side = h.getSideOutput(DeadLetters.TAG);
        if (side != null) {
            side.forEach(r -> out.add(r.getValue()));
        }
        return out;
    }

    static void assertEngineDeadLetter(DeadLetter d, String what, String cause) {
        assertEquals(InferenceOperator.STAGE, d.getStage());
        String reason = d.getReason();
        assertTrue(reason.startsWith("the engine failed " + MAX_ATTEMPTS + " times while this request was in it "
                + "(inference.max-attempts = " + MAX_ATTEMPTS + "); last failure: " + what + ": "), reason);
        assertTrue(reason.contains(cause), reason);
    }

    @Test
    void aRequestThatFailsTheEngineEveryTimeIsDeadLetteredAfterMaxAttemptsAndTheOthersComplete() throws Exception {
        List<GenerationRequest> reqs = new ArrayList<>(InferenceOperatorTest.requests);
        // In the middle of the batch, so it shares its steps with requests on both sides.
        reqs.add(12, new GenerationRequest("poison", new int[] {5, POISON, 7}, SamplingParams.greedy(3)));
        try (var h = harness(FailingEngines.failingOnToken(POISON))) {
            h.open();
            h.processElement(new StreamRecord<>(InferenceOperatorTest.batch(reqs)));
            h.endInput();
            assertEquals(0, ((InferenceOperator) h.getOperator()).numInFlight());
            InferenceOperatorTest.assertSameAsOffline(h.extractOutputValues(), 24);
            List<DeadLetter> dl = deadLetters(h);
            assertEquals(1, dl.size(), () -> "dead letters: " + dl);
            assertEquals("poison", dl.get(0).getRid());
            assertEngineDeadLetter(dl.get(0), "the engine failed", FailingEngines.CUDA_ERROR);
        }
    }

    @Test
    void anEngineThatCannotBeMadeDeadLettersEveryRequestWithTheCauseAndTheNextBatchIsAnsweredToo() throws Exception {
        try (var h = harness(FailingEngines.neverCreated())) {
            h.open();
            h.processElement(new StreamRecord<>(InferenceOperatorTest.batch(InferenceOperatorTest.requests.subList(0, 4))));
            assertEquals(4, deadLetters(h).size(), "the first batch is answered");
            h.processElement(new StreamRecord<>(InferenceOperatorTest.batch(InferenceOperatorTest.requests.subList(4, 6))));
            h.endInput();
            assertEquals(0, ((InferenceOperator) h.getOperator()).numInFlight());
            assertTrue(h.extractOutputValues().isEmpty());
            List<DeadLetter> dl = deadLetters(h);
            assertEquals(6, dl.size());
            for (int i = 0; i < 6; i++) {
                assertEquals("r" + i, dl.get(i).getRid());
                assertEngineDeadLetter(dl.get(i), "the engine could not be created",
                        "java.lang.UnsatisfiedLinkError: " + FailingEngines.NATIVE_ALREADY_LOADED);
            }
        }
    }

    /** The reported loop: a savepoint restored where the engine cannot be made. */
    @Test
    void requestsRestoredWhereTheEngineCannotBeMadeAreDeadLetteredInsteadOfFailingTheTask() throws Exception {
        try (var h = harness(FailingEngines.neverCreated())) {
            h.initializeState(OperatorSnapshotUtil.readStateHandle(
                    InFlightStateFixtureWriter.fixture(InFlightRequestSerializer.VERSION).toString()));
            h.open();
            h.endInput();
            assertEquals(0, ((InferenceOperator) h.getOperator()).numInFlight());
            List<DeadLetter> dl = deadLetters(h);
            assertTrue(!dl.isEmpty(), "the snapshot held requests in flight");
            for (DeadLetter d : dl) {
                assertEngineDeadLetter(d, "the engine could not be created", FailingEngines.NATIVE_ALREADY_LOADED);
            }
        }
    }

    @Test
    void anEngineThatCannotBeMadeOnceIsMadeAgainAndNothingIsLost() throws Exception {
        // The first creation (in open, nothing waiting) and the second (with the batch waiting) fail.
        try (var h = harness(FailingEngines.failingFirst(2))) {
            h.open();
            h.processElement(new StreamRecord<>(InferenceOperatorTest.batch(InferenceOperatorTest.requests)));
            h.endInput();
            assertTrue(deadLetters(h).isEmpty(), () -> "dead letters: " + deadLetters(h));
            InferenceOperatorTest.assertSameAsOffline(h.extractOutputValues(), 24);
        }
    }
}
