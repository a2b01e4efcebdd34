package io.routingreplay.operators.recordsize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The bound against the real thing: requests of every shape through the engine, the inference operator and the
 * assembler, each result encoded as the results sink encodes it and framed as Kafka counts it. The bound is never
 * below the record, and for requests that run to their worst case (ignore_eos) at most 64 bytes (timings, seed and
 * finish reason counted at full width) + one byte per output token (an id takes 1 to 3 bytes) above it.
 */
class ResultSizeBoundTest {

    static final ResultSizeBound BOUND = ResultSizeBound.of(ModelConfigLoader.load(EngineResults.MODEL));
    static List<InferenceRequest> requests;
    static Map<String, RoutingResult> results;

    @BeforeAll
    static void generate() throws Exception {
        Random rnd = new Random(13);
        requests = List.of(
                request("greedy-300+400", prompt(rnd, 300), 400, 0f, true, false, Map.of()),
                request("weights-50+100", prompt(rnd, 50), 100, 0f, true, true, Map.of("step", "3", "run", "a/b")),
                // 50 asked, 6 possible: prompt + outputs stops at max_position_embeddings (4,096)
                request("context-end-4090+50", prompt(rnd, 4090), 50, 0f, true, false, Map.of()),
                request("ρ/é-✓ sampled", prompt(rnd, 20), 64, 1.0f, false, false, Map.of("ü", "✓✓")),
                request("one-token", prompt(rnd, 1), 1, 0f, true, true, Map.of()),
                // a second turn: its result returns the rows from position 250 only
                withRouting(request("turn-2-from-250", prompt(rnd, 300), 200, 0f, true, true, Map.of()), 250, true),
                withRouting(request("from-prompt-end", prompt(rnd, 40), 1, 0f, true, true, Map.of()), 40, true),
                withRouting(request("no-routing", prompt(rnd, 300), 200, 0f, true, true, Map.of()), 0, false),
                // replay inputs: every prompt token's logprob, and the forced-routing report
                InferenceRequest.newBuilder(request("scored-200+30", prompt(rnd, 200), 30, 0f, true, false, Map.of()))
                        .setPromptLogprobs(true).build(),
                InferenceRequest.newBuilder(request("scoring-only-120", prompt(rnd, 120), 0, 0f, true, false, Map.of()))
                        .setPromptLogprobs(true).build(),
                InferenceRequest.newBuilder(request("forced-60+20", prompt(rnd, 60), 20, 0f, true, false, Map.of()))
                        .setForcedRouting(java.nio.ByteBuffer.wrap(forcedRows(60))).setPromptLogprobs(true).build());
        results = new HashMap<>();
        for (RoutingResult r : EngineResults.run(requests)) {
            results.put(r.getRid(), r);
        }
    }

    /** {@code rows} positions of 4 MoE layers × top-4 ids, distinct per list (not the router's choice). */
    static byte[] forcedRows(int rows) {
        byte[] ids = new byte[rows * 16];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (byte) ((i % 4) * 4 + (i / 16) % 4);
        }
        return ids;
    }

    @Test
    void theBoundIsNeverBelowTheEncodedRecord() {
        SingleObjectCodec<RoutingResult> codec = SingleObjectCodec.of(RoutingResult.class);
        for (InferenceRequest req : requests) {
            RoutingResult r = results.get(req.getRid());
            long actual = KafkaRecordFraming.recordBytes(req.getRid().getBytes(StandardCharsets.UTF_8).length,
                    codec.encode(r).length);
            long bound = BOUND.estimate(req).recordBytes();
            assertTrue(bound >= actual, req.getRid() + ": bound " + bound + " < record " + actual);
            if (req.getIgnoreEos()) {
                assertTrue(bound <= actual + 64 + r.getOutputTokenIds().size(),
                        req.getRid() + ": bound " + bound + " is loose for a record of " + actual);
            }
        }
    }

    /**
     * The bound counts the rows the result returns: with routing_start 250 of a 300-token prompt, 200 new tokens,
     * 249 rows of ids and weights instead of 499, and none without routing; the encoded records agree (they are
     * checked against the bound, tightly, in the test above).
     */
    @Test
    void theBoundCountsOnlyTheRoutingRowsTheResultReturns() {
        InferenceRequest turn2 = requests.get(5);
        InferenceRequest whole = InferenceRequest.newBuilder(turn2).setRoutingStart(0).build();
        ResultSizeBound.Estimate cut = BOUND.estimate(turn2);
        ResultSizeBound.Estimate full = BOUND.estimate(whole);
        assertEquals(499, full.routingRows());
        assertEquals(249, cut.routingRows());
        // 250 rows × 4 layers × top-4 × (1 byte id + 4 bytes weight), give or take a few length-prefix bytes
        long saved = full.recordBytes() - cut.recordBytes();
        assertTrue(Math.abs(saved - 250L * 16 * 5) <= 8, "saved " + saved);
        assertEquals(249, results.get("turn-2-from-250").getRoutingShape().get(0));
        assertEquals(0, BOUND.estimate(requests.get(7)).routingRows());
        assertEquals(null, results.get("no-routing").getRoutingIds());
        // a multi-turn request refused for its full routing fits with its routing_start
        long limit = (full.recordBytes() + cut.recordBytes()) / 2;
        assertTrue(BOUND.largestFittingMaxNewTokens(whole, limit) < 200, "the whole record does not fit");
        assertEquals(200, BOUND.largestFittingMaxNewTokens(turn2, limit));
    }

    @Test
    void outputsAreCappedByTheModelsPositions() {
        RoutingResult r = results.get("context-end-4090+50");
        assertEquals(6, r.getOutputTokenIds().size(), "the engine's own cap, which the bound assumes");
        assertEquals(6, BOUND.estimate(requests.get(2)).maxOutputs());
        assertEquals(4095, BOUND.estimate(requests.get(2)).routedTokens());
    }

    @Test
    void theLargestFittingMaxNewTokensIsTheLastThatFits() {
        InferenceRequest req = requests.get(0);
        long limit = BOUND.estimate(req, 123).recordBytes();
        assertEquals(123, BOUND.largestFittingMaxNewTokens(req, limit));
        assertEquals(122, BOUND.largestFittingMaxNewTokens(req, limit - 1));
        assertEquals(400, BOUND.largestFittingMaxNewTokens(req, Long.MAX_VALUE));
        assertEquals(0, BOUND.largestFittingMaxNewTokens(req, 100));
    }

    static InferenceRequest request(String rid, List<Integer> prompt, int maxNew, float temperature,
                                    boolean ignoreEos, boolean weights, Map<String, String> metadata) {
        return InferenceRequest.newBuilder().setRid(rid).setModel(EngineResults.MODEL_NAME).setPromptTokenIds(prompt)
                .setMaxNewTokens(maxNew).setTemperature(temperature).setTopP(1f).setTopK(0)
                .setSeed(temperature == 0f ? null : 5L).setIgnoreEos(ignoreEos).setReturnRoutingWeights(weights)
                .setMetadata(new HashMap<>(metadata)).build();
    }

    static InferenceRequest withRouting(InferenceRequest r, int routingStart, boolean returned) {
        return InferenceRequest.newBuilder(r).setRoutingStart(routingStart).setReturnRouting(returned).build();
    }

    static List<Integer> prompt(Random rnd, int n) {
        List<Integer> ids = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ids.add(rnd.nextInt(151_936));
        }
        return ids;
    }
}
