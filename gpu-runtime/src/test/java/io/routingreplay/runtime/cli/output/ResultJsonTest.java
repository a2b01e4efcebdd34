package io.routingreplay.runtime.cli.output;

import io.routingreplay.runtime.engine.FinishReason;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingRecord;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The result line's exact shape: generate, the local job and consume must all write these bytes. */
class ResultJsonTest {

    /** Prompt of 2 tokens, 2 outputs: 3 routed tokens, 2 MoE layers (1 and 3), top-2 of 300 experts (uint16). */
    private static GenerationResult result(boolean withWeights) {
        RoutingLayout layout = new RoutingLayout(new int[]{1, 3}, 2, 300);
        int[] ids = {299, 0, 7, 8, 1, 2, 3, 4, 256, 255, 10, 11};
        float[] weights = withWeights ? new float[]{0.5f, 0.25f, 1f, 0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.6f, 0.7f, 0.8f, 0.9f}
                : null;
        RoutingRecord routing = new RoutingRecord(layout, 3, RoutingRecord.pack(layout, ids, 0, ids.length), weights);
        return new GenerationResult("r-1", new int[]{5, 6}, new int[]{7, 2}, new float[]{-0.5f, -1.25f},
                FinishReason.STOP, routing);
    }

    @Test
    void writesEveryFieldInOrder() {
        assertEquals("{\"rid\":\"r-1\",\"prompt_token_ids\":[5,6],\"output_token_ids\":[7,2],\"output_text\":\"hi\","
                + "\"output_logprobs\":[-0.5,-1.25],\"finish_reason\":\"stop\",\"routing\":{\"num_tokens\":3,"
                + "\"routing_start\":0,\"moe_layer_indices\":[1,3],\"top_k\":2,\"num_experts\":300,\"dtype\":\"uint16\","
                + "\"topk_ids\":[[[299,0],[7,8]],[[1,2],[3,4]],[[256,255],[10,11]]]}}",
                ResultJson.toLine(result(false), "hi"));
    }

    /** routing_start 2: num_tokens stays the request's 3 routed positions, topk_ids holds position 2 only. */
    @Test
    void aRecordFromALaterPositionSaysWhereItStarts() {
        GenerationResult full = result(true);
        RoutingRecord all = full.routing();
        RoutingLayout layout = all.layout();
        int per = layout.bytesPerToken();
        byte[] lastRow = java.util.Arrays.copyOfRange(all.ids(), 2 * per, 3 * per);
        float[] lastWeights = java.util.Arrays.copyOfRange(all.weights(), 2 * layout.idsPerToken(),
                3 * layout.idsPerToken());
        GenerationResult cut = new GenerationResult("r-1", full.promptTokenIds(), full.outputTokenIds(),
                full.outputLogprobs(), FinishReason.STOP, new RoutingRecord(layout, 2, 1, lastRow, lastWeights));
        assertEquals("{\"rid\":\"r-1\",\"prompt_token_ids\":[5,6],\"output_token_ids\":[7,2],\"output_text\":null,"
                + "\"output_logprobs\":[-0.5,-1.25],\"finish_reason\":\"stop\",\"routing\":{\"num_tokens\":3,"
                + "\"routing_start\":2,\"moe_layer_indices\":[1,3],\"top_k\":2,\"num_experts\":300,\"dtype\":\"uint16\","
                + "\"topk_ids\":[[[256,255],[10,11]]],\"topk_weights\":[[[0.6,0.7],[0.8,0.9]]]}}",
                ResultJson.toLine(cut, null));
    }

    /** return_routing false: routing is null, not an empty record that would read as 0 routed tokens. */
    @Test
    void noRoutingIsNull() {
        GenerationResult full = result(false);
        GenerationResult none = new GenerationResult("r-1", full.promptTokenIds(), full.outputTokenIds(),
                full.outputLogprobs(), FinishReason.STOP, null);
        assertTrue(ResultJson.toLine(none, null).endsWith("\"finish_reason\":\"stop\",\"routing\":null}"),
                ResultJson.toLine(none, null));
    }

    @Test
    void weightsOnlyWhenPresentAndTextMayBeNull() {
        String line = ResultJson.toLine(result(true), null);
        assertTrue(line.contains("\"output_text\":null"), line);
        assertTrue(line.endsWith("\"topk_weights\":[[[0.5,0.25],[1.0,0.0]],[[0.1,0.2],[0.3,0.4]],"
                + "[[0.6,0.7],[0.8,0.9]]]}}"), line);
    }
}
