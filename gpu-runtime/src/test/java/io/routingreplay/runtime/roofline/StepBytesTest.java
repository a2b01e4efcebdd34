package io.routingreplay.runtime.roofline;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.backend.StepOutput;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A hand-counted step of qwen3-moe-tiny (hidden 32, 4 layers all MoE, 16 experts of 3 × 24 × 32, top-4, q 4 × 16,
 *  k/v 2 × 16, vocabulary 151,936): the numbers below are worked out from config.json, not from the code. */
class StepBytesTest {

    @Test
    void countsDistinctExpertsPerLayerTheWholeContextAndLmHeadOnlyWhenSampling() {
        ModelConfig c = ModelConfigLoader.load(Fixtures.model("qwen3-moe-tiny"));
        SamplingParams p = SamplingParams.greedy(4);
        // a 3-token prefill chunk at positions 5..7 that samples, and a 1-token decode at position 10
        ForwardBatch batch = new ForwardBatch(java.util.List.of(
                new SeqChunk(new int[] {1, 2, 3}, 5, new int[] {0}, true, p, 0L, 0),
                new SeqChunk(new int[] {4}, 10, new int[] {1}, true, p, 0L, 0)));
        // routing [token][layer][k]: layer 0 uses experts {0,1,2,3} for every token -> 4 distinct;
        // layer 1: tokens use {0..3}, {4..7}, {0..3}, {8..11} -> 12; layers 2 and 3: {t, t+1, t+2, t+3} per token t
        // of the step (t = 0..3) -> {0..6} = 7 each. Total 4 + 12 + 7 + 7 = 30 expert reads.
        int[] chunk0 = new int[3 * 4 * 4], chunk1 = new int[4 * 4];
        int[][] layer1 = {{0, 1, 2, 3}, {4, 5, 6, 7}, {0, 1, 2, 3}, {8, 9, 10, 11}};
        for (int t = 0; t < 4; t++) {
            int[] ids = t < 3 ? chunk0 : chunk1;
            int row = t < 3 ? t : 0;
            for (int k = 0; k < 4; k++) {
                ids[(row * 4 + 0) * 4 + k] = k;
                ids[(row * 4 + 1) * 4 + k] = layer1[t][k];
                ids[(row * 4 + 2) * 4 + k] = t + k;
                ids[(row * 4 + 3) * 4 + k] = t + k;
            }
        }
        StepOutput out = new StepOutput(new int[] {7, 8}, new float[2], new int[][] {chunk0, chunk1}, null);
        StepBytes b = StepBytes.of(c, 2, batch, out);
        double attention = (64 + 32 + 32) * 32 * 2 + 32 * 64 * 2;   // q, k, v, o in bf16
        double router = 16 * 32 * 2;
        double expert = 3 * 24 * 32 * 2;
        double lmHead = 151_936.0 * 32 * 2;
        assertEquals(4 * (attention + router) + 30 * expert + lmHead, b.weightBytes(), 0.0);
        // context read: 8 + 11 positions; written: 3 + 1; per position 4 layers × (k + v) × 32 values × 2 bytes
        assertEquals((19 + 4) * 4 * 2 * 32 * 2.0, b.kvBytes(), 0.0);

        ForwardBatch unsampled = new ForwardBatch(java.util.List.of(
                new SeqChunk(new int[] {1, 2, 3}, 5, new int[] {0}, false, p, 0L, 0)));
        StepOutput out0 = new StepOutput(new int[] {-1}, new float[1], new int[][] {chunk0}, null);
        assertEquals(0.0, StepBytes.of(c, 2, unsampled, out0).weightBytes()
                - 4 * (attention + router) - (4 + 8 + 6 + 6) * expert, 0.0, "no lm_head without a sampled row");
    }

    /** deepseek-v3-tiny, counted from config.json: hidden 64, 4 layers of which layer 0 is dense (intermediate 128),
     *  MLA with q_lora 32, kv_lora 16, 4 heads of nope 16 + rope 8, v 16; 16 experts of 32, one shared expert of 32;
     *  vocabulary 1,024. Its cache holds per position and layer 4 keys of 24 and 4 values of 16. */
    @Test
    void countsMlaProjectionsSharedExpertsAndDenseLayersInADecodeStep() {
        ModelConfig c = ModelConfigLoader.load(Fixtures.model("deepseek-v3-tiny"));
        double mla = (32 * 64 + 4 * 24 * 32          // q_a, q_b
                + (16 + 8) * 64                      // kv_a_proj_with_mqa
                + 4 * (16 + 16) * 16                 // kv_b
                + 4 * 16 * 64) * 2.0;                // o
        double router = 16 * 64 * 2, shared = 3 * 32 * 64 * 2, expert = 3 * 32 * 64 * 2, dense = 3 * 128 * 64 * 2;
        double lmHead = 1024 * 64 * 2;
        StepBytes b = StepBytes.decode(c, 4, 2, 10, 5.0);
        assertEquals(4 * mla + 3 * (router + shared + 5 * expert) + dense + lmHead, b.weightBytes(), 0.0);
        assertEquals(2 * 10 * 4 * (4 * 24 + 4 * 16) * 4.0, b.kvBytes(), 0.0);
    }
}
