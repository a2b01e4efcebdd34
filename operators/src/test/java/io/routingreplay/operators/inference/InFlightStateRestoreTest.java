package io.routingreplay.operators.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.operators.validation.DeadLetters;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.streaming.util.OperatorSnapshotUtil;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Checkpoints and savepoints of older jobs stay restorable: the committed snapshot of every state version (written
 * by {@link InFlightStateFixtureWriter} with the build of that version, mid-generation of
 * {@link InferenceOperatorTest#workload()}) is restored into this build's operator, and each request it held
 * continues exactly where its emitted events stopped: from there on, its routing, tokens and logprobs equal what
 * the engine alone returns.
 */
class InFlightStateRestoreTest {

    @ParameterizedTest(name = "state version {0}")
    @ValueSource(ints = {1, 2})
    void aSnapshotOfAnOlderStateVersionRestoresAndEveryRequestInItCompletes(int version) throws Exception {
        Path fixture = InFlightStateFixtureWriter.fixture(version);
        assertTrue(Files.isRegularFile(fixture), fixture + " is committed");
        Map<String, GenerationResult> offline = InferenceOperatorTest.offline(InferenceOperatorTest.workload());
        List<TokenRoutingEvent> after;
        try (var h = InferenceOperatorTest.harness(64)) {
            h.initializeState(OperatorSnapshotUtil.readStateHandle(fixture.toString()));
            h.open();
            h.endInput();
            after = h.extractOutputValues();
            assertNull(h.getSideOutput(DeadLetters.TAG), "no restored request is dead-lettered");
        }
        Map<String, List<TokenRoutingEvent>> byRid = new LinkedHashMap<>();
        for (TokenRoutingEvent e : after) {
            byRid.computeIfAbsent(e.getRid(), k -> new ArrayList<>()).add(e);
        }
        assertFalse(byRid.isEmpty(), "the snapshot held requests in flight");
        List<String> midway = new ArrayList<>();
        byRid.forEach((rid, evs) -> {
            GenerationResult want = offline.get(rid);
            int per = want.routing().ids().length / want.routing().numTokens();
            int first = evs.get(0).getFirstPosition();
            if (first > 0) {
                midway.add(rid);
            }
            ByteArrayOutputStream ids = new ByteArrayOutputStream();
            int next = first;
            int output = -1;
            for (TokenRoutingEvent e : evs) {
                assertEquals(1, e.getAttempt(), rid + ": restored once");
                assertEquals(next, e.getFirstPosition(), rid + ": contiguous from the restored position");
                next += e.getNumRoutedTokens();
                byte[] b = new byte[e.getRoutingIds().remaining()];
                e.getRoutingIds().duplicate().get(b);
                ids.writeBytes(b);
                if (e.getSampledToken() >= 0) {
                    output = e.getOutputIndex();
                    assertEquals(want.outputTokenIds()[output], e.getSampledToken(), rid + " output " + output);
                    assertEquals(want.outputLogprobs()[output], e.getLogprob(), rid + " logprob " + output);
                }
            }
            assertEquals(want.routing().numTokens(), next, rid + " ends where generate ends");
            assertEquals(want.outputTokenIds().length - 1, output, rid + " last output");
            byte[] all = want.routing().ids();
            byte[] tail = new byte[all.length - first * per];
            System.arraycopy(all, first * per, tail, 0, tail.length);
            assertArrayEquals(tail, ids.toByteArray(), rid + " routing from position " + first);
            assertEquals(want.finishReason().wire(), evs.get(evs.size() - 1).getFinishReason(), rid);
        });
        assertFalse(midway.isEmpty(), "some requests were restored mid-generation, past their prompt");
    }
}
