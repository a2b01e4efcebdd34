package io.routingreplay.operators.audit;

import static io.routingreplay.operators.metrics.MetricNames.AUDITED_RESULTS;
import static io.routingreplay.operators.metrics.MetricNames.AUDIT_MISMATCHES;
import static io.routingreplay.operators.metrics.MetricNames.AUDIT_SKIPPED;
import static io.routingreplay.operators.metrics.MetricNames.PROMETHEUS_PREFIX;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.operators.metrics.AuditMetrics;
import io.routingreplay.operators.metrics.RecordingMetricGroups;
import io.routingreplay.operators.recordsize.EngineResults;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.RoutingResult;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.metrics.Counter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The audit stage's check on real results of the job's inference operator and assembler (the bundled tiny
 * Qwen3-MoE: 4 MoE layers, top-4 of 16 experts, uint8 ids): untouched results replay bit for bit, including a
 * forced-routing result (whose forced cells the free router does not pick: its own report says how many) and scoring
 * results; a result with one routing cell or one logprob bit altered, or a repeated expert, is a mismatch; results
 * without routing from position 0 are skipped. The counters are Flink's, under the names Prometheus exports.
 */
class ResultAuditorTest {

    static final int IDS_PER_TOKEN = 4 * 4;
    static Map<String, RoutingResult> results = new HashMap<>();
    static ResultAuditor auditor;

    @BeforeAll
    static void runTheJobsOperators() throws Exception {
        List<InferenceRequest> requests = new ArrayList<>();
        requests.add(request("greedy", 12, 8).build());
        requests.add(request("sampled", 9, 6).setTemperature(1f).setSeed(5L).build());
        requests.add(request("plp", 7, 5).setPromptLogprobs(true).build());
        requests.add(request("score", 11, 0).setPromptLogprobs(true).build());
        byte[] forced = new byte[3 * IDS_PER_TOKEN];
        for (int i = 0; i < forced.length; i++) {
            forced[i] = (byte) (i % 4 + 4 * (i / 4 % 3)); // distinct within each top-4 list, not the router's
        }
        requests.add(request("forced", 6, 4).setForcedRouting(ByteBuffer.wrap(forced)).build());
        requests.add(request("no-routing", 6, 3).setReturnRouting(false).build());
        requests.add(request("second-turn", 6, 3).setRoutingStart(4).build());
        for (RoutingResult r : EngineResults.run(requests)) {
            results.put(r.getRid(), r);
        }
        auditor = new ResultAuditor(LLMEngine.create(EngineResults.SETTINGS.toEngineConfig()));
    }

    @AfterAll
    static void closeTheEngine() {
        auditor.close();
    }

    static InferenceRequest.Builder request(String rid, int promptLength, int maxNewTokens) {
        List<Integer> prompt = new ArrayList<>();
        for (int i = 0; i < promptLength; i++) {
            prompt.add(((rid.hashCode() & 0xffff) * 7 + 1000 * i) % 150_000);
        }
        return InferenceRequest.newBuilder().setRid(rid).setModel(EngineResults.MODEL_NAME).setPromptTokenIds(prompt)
                .setMaxNewTokens(maxNewTokens).setTemperature(0f).setTopP(1f).setTopK(0).setIgnoreEos(true);
    }

    @Test
    void everyUntouchedResultReplaysBitForBitAndTheCountersSayWhatWasAudited() {
        RecordingMetricGroups groups = new RecordingMetricGroups();
        AuditMetrics metrics = new AuditMetrics(groups.operator("audit"));
        for (String rid : List.of("greedy", "sampled", "plp", "score", "forced")) {
            ResultAuditor.Finding f = count(metrics, auditor.audit(results.get(rid)));
            assertEquals(ResultAuditor.Outcome.VERIFIED, f.outcome(), rid + ": " + f.detail());
        }
        for (String rid : List.of("no-routing", "second-turn")) {
            assertEquals(ResultAuditor.Outcome.SKIPPED, count(metrics, auditor.audit(results.get(rid))).outcome(), rid);
        }
        assertEquals(5, counter(groups, AUDITED_RESULTS));
        assertEquals(0, counter(groups, AUDIT_MISMATCHES));
        assertEquals(2, counter(groups, AUDIT_SKIPPED));
        assertTrue(results.get("forced").getForcedRouting().getCellsReproduced()
                < results.get("forced").getForcedRouting().getCells(), "the forced ids are not the router's");
    }

    @Test
    void oneRoutingCellAlteredIsAMismatchAndCounted() {
        RoutingResult r = results.get("greedy");
        byte[] ids = bytes(r.getRoutingIds());
        int cell = 5 * IDS_PER_TOKEN + 4; // position 5, MoE layer 1, k 0
        byte other = 0;
        while (contains(ids, cell, other)) {
            other++;
        }
        ids[cell] = other; // an expert outside this top-4 list: still a well-formed record
        RecordingMetricGroups groups = new RecordingMetricGroups();
        AuditMetrics metrics = new AuditMetrics(groups.operator("audit"));
        ResultAuditor.Finding f = count(metrics,
                auditor.audit(RoutingResult.newBuilder(r).setRoutingIds(ByteBuffer.wrap(ids)).build()));
        assertEquals(ResultAuditor.Outcome.MISMATCH, f.outcome(), f.detail());
        assertTrue(f.detail().contains("cells reproduced by the free router"), f.detail());
        assertEquals(1, counter(groups, AUDITED_RESULTS));
        assertEquals(1, counter(groups, AUDIT_MISMATCHES));
    }

    @Test
    void oneLogprobOffByItsLastBitIsAMismatch() {
        RoutingResult r = results.get("sampled");
        List<Float> logprobs = new ArrayList<>(r.getOutputLogprobs());
        logprobs.set(3, Float.intBitsToFloat(Float.floatToIntBits(logprobs.get(3)) ^ 1));
        ResultAuditor.Finding f = auditor.audit(RoutingResult.newBuilder(r).setOutputLogprobs(logprobs).build());
        assertEquals(ResultAuditor.Outcome.MISMATCH, f.outcome(), f.detail());
        assertTrue(f.detail().contains("first at output 3"), f.detail());
    }

    @Test
    void aRepeatedExpertInATopKListIsAStructuralMismatch() {
        RoutingResult r = results.get("plp");
        byte[] ids = bytes(r.getRoutingIds());
        ids[2 * IDS_PER_TOKEN + 1] = ids[2 * IDS_PER_TOKEN];
        ResultAuditor.Finding f = auditor.audit(RoutingResult.newBuilder(r).setRoutingIds(ByteBuffer.wrap(ids)).build());
        assertEquals(ResultAuditor.Outcome.MISMATCH, f.outcome());
        assertTrue(f.detail().startsWith("structural: expert " + (ids[2 * IDS_PER_TOKEN] & 0xff)
                + " appears twice at position 2, MoE layer 0"), f.detail());
    }

    static ResultAuditor.Finding count(AuditMetrics metrics, ResultAuditor.Finding f) {
        metrics.onOutcome(f.outcome());
        return f;
    }

    static long counter(RecordingMetricGroups groups, String name) {
        Counter c = groups.get(PROMETHEUS_PREFIX + name);
        return c.getCount();
    }

    static boolean contains(byte[] ids, int listStart, byte id) {
        for (int k = 0; k < 4; k++) {
            if (ids[listStart + k] == id) {
                return true;
            }
        }
        return false;
    }

    static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
