package io.routingreplay.runtime.roofline;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.backend.StepOutput;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The meter keeps decode steps and steps with prompt tokens apart: each kind's forward time beside its own bytes. */
class LowerBoundMeterTest {
    private static final ModelConfig C = ModelConfigLoader.load(Fixtures.model("qwen3-moe-tiny"));
    private static final SamplingParams P = SamplingParams.greedy(4);

    @Test
    void splitsForwardTimeAndBoundIntoDecodeAndPromptSteps() {
        LowerBoundMeter m = new LowerBoundMeter(C, 2, 1000.0);
        ForwardBatch decode = new ForwardBatch(List.of(chunk(1, 10, 0), chunk(1, 20, 1)));
        ForwardBatch prompt = new ForwardBatch(List.of(chunk(3, 0, 2), chunk(1, 30, 3)));
        StepOutput decodeOut = output(1, 1), promptOut = output(3, 1);
        m.onStep(decode, decodeOut, 2_000_000L);
        m.onStep(decode, decodeOut, 3_000_000L);
        m.onStep(prompt, promptOut, 7_000_000L);

        double decodeBytes = 2 * bytes(decode, decodeOut), promptBytes = bytes(prompt, promptOut);
        assertEquals(0.005, m.forwardSeconds(0), 1e-12);
        assertEquals(0.007, m.forwardSeconds(1), 1e-12);
        assertEquals(decodeBytes / 1e12, m.boundSeconds(0), 1e-18);
        assertEquals(promptBytes / 1e12, m.boundSeconds(1), 1e-18);
        assertEquals(m.seconds(), m.boundSeconds(0) + m.boundSeconds(1), 1e-18);
        String s = m.summary(0.020);
        assertTrue(s.contains("2 decode steps 0.01 s (2.50 ms each)"), s);
        assertTrue(s.contains("1 steps with prompt tokens 0.01 s (7.00 ms each)"), s);
        assertTrue(s.contains("outside the forward calls (scheduling, swaps, results) 0.01 s"), s);
    }

    @Test
    void aStepIsDecodeOnlyWhenEveryChunkFeedsOneToken() {
        assertTrue(LowerBoundMeter.isDecode(new ForwardBatch(List.of(chunk(1, 5, 0), chunk(1, 9, 1)))));
        assertTrue(!LowerBoundMeter.isDecode(new ForwardBatch(List.of(chunk(1, 5, 0), chunk(2, 0, 1)))));
    }

    private static double bytes(ForwardBatch b, StepOutput out) {
        StepBytes sb = StepBytes.of(C, 2, b, out);
        return sb.weightBytes() + sb.kvBytes();
    }

    private static SeqChunk chunk(int tokens, int start, int block) {
        return new SeqChunk(new int[tokens], start, new int[] {block}, true, P, 0L, 0);
    }

    /** Two chunks' routing (every token of every layer on experts 0..3) and sampled tokens. */
    private static StepOutput output(int firstTokens, int secondTokens) {
        int per = C.numMoeLayers() * C.topK;
        int[] a = new int[firstTokens * per], b = new int[secondTokens * per];
        for (int i = 0; i < a.length; i++) a[i] = i % C.topK;
        for (int i = 0; i < b.length; i++) b[i] = i % C.topK;
        return new StepOutput(new int[] {1, 2}, new float[2], new int[][] {a, b}, null);
    }
}
