package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.scheduler.AdmissionPolicy;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A request's tokens, logprobs and routing must not depend on which requests share its batch, how its prompt is
 * chunked, or whether it was preempted and recomputed. On every CPU fixture (every architecture).
 */
@ParameterizedClass
@MethodSource("io.routingreplay.runtime.testing.Fixtures#cpu")
class BatchInvarianceTest {
    private static List<GenerationRequest> requests;
    private static List<GenerationResult> alone;

    @Parameter
    String model;

    @BeforeParameterizedClassInvocation
    static void runEachAlone(String model) {
        int vocab = Math.min(151_000, Fixtures.vocabSize(model));
        Random rnd = new Random(7);
        requests = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            int[] prompt = new int[1 + rnd.nextInt(40)];
            for (int j = 0; j < prompt.length; j++) {
                prompt[j] = rnd.nextInt(vocab);
            }
            boolean sampled = i % 2 == 1;
            requests.add(new GenerationRequest("r" + i, prompt, new SamplingParams(1 + rnd.nextInt(12),
                    sampled ? 0.8f : 0f, sampled ? 0.9f : 1f, sampled ? 50 : 0, 1000L + i, List.of(), true, true)));
        }
        alone = new ArrayList<>();
        try (LLMEngine engine = engine(EngineConfig.builder(Fixtures.model(model)).threads(2))) {
            for (GenerationRequest r : requests.subList(0, 8)) {
                alone.add(engine.generate(List.of(r)).get(0));
            }
        }
    }

    private static LLMEngine engine(EngineConfig.Builder b) {
        return LLMEngine.create(b.build());
    }

    @Test
    void sameResultAloneAndInABatchOf64() {
        try (LLMEngine engine = engine(EngineConfig.builder(Fixtures.model(model)).threads(2))) {
            List<GenerationResult> batched = engine.generate(requests);
            for (int i = 0; i < alone.size(); i++) {
                SameRecord.assertSameRecord(alone.get(i), batched.get(i));
            }
            for (GenerationResult r : batched) {
                assertEquals(r.promptTokenIds().length + r.outputTokenIds().length - 1, r.routing().numTokens());
            }
        }
    }

    @Test
    void sameResultWithSmallPrefillChunks() {
        try (LLMEngine engine = engine(EngineConfig.builder(Fixtures.model(model)).threads(2).maxNumSeqs(3)
                .maxBatchTokens(5))) {
            List<GenerationResult> chunked = engine.generate(requests.subList(0, 8));
            for (int i = 0; i < alone.size(); i++) {
                SameRecord.assertSameRecord(alone.get(i), chunked.get(i));
            }
        }
    }

    @Test
    void sameResultWhenTheKvCacheForcesPreemption() {
        // 4 blocks of 16 positions: sequences of up to 52 positions fit one at a time, so decodes preempt others;
        // preempted work recomputed (no swap space) and copied back from host memory (the default swap space)
        for (long swapBytes : new long[]{0, 64L << 20}) {
            try (LLMEngine engine = engine(EngineConfig.builder(Fixtures.model(model)).threads(2).kvCacheTokens(64)
                    .admission(AdmissionPolicy.EAGER).swapSpaceBytes(swapBytes))) {
                List<GenerationResult> squeezed = engine.generate(requests.subList(0, 8));
                for (int i = 0; i < alone.size(); i++) {
                    SameRecord.assertSameRecord(alone.get(i), squeezed.get(i));
                }
                assertTrue(engine.stats().preemptions() > 0, "the test must actually preempt");
                assertEquals(swapBytes > 0, engine.stats().swappedInBlocks() > 0, "swap space " + swapBytes);
            }
        }
    }

    @Test
    void resumeAfterRestoreContinuesTheSameRecord() {
        // Sampled with a seed and long enough that the "crash" lands mid-generation: CUT tokens were emitted before
        // it and MAX_NEW - CUT must come from LLMEngine.resume, which recomputes the prompt + outputs so far and
        // continues the sampler at output index CUT.
        final int maxNew = 12;
        final int cut = 5;
        GenerationRequest r = new GenerationRequest("resumed", requests.get(3).promptTokenIds(),
                new SamplingParams(maxNew, 0.8f, 0.9f, 50, 4242L, List.of(), true, true));
        GenerationResult full;
        try (LLMEngine uninterrupted = engine(EngineConfig.builder(Fixtures.model(model)).threads(2))) {
            full = uninterrupted.generate(List.of(r)).get(0);
        }
        assertEquals(maxNew, full.outputTokenIds().length, "ignore_eos: the uninterrupted run makes every token");

        // First life: run until CUT outputs were emitted, keep those events (what reached downstream), then "crash".
        List<StepEvent> kept = new ArrayList<>();
        int outputs = 0;
        try (LLMEngine first = engine(EngineConfig.builder(Fixtures.model(model)).threads(2))) {
            first.add(r);
            while (outputs < cut) {
                for (StepEvent e : first.step()) {
                    kept.add(e);
                    if (e.sampledToken() >= 0) {
                        outputs++;
                    }
                }
            }
        }
        assertEquals(cut, outputs, "one request alone samples one token per step");
        ResultBuilder builder = new ResultBuilder(r, full.routing().layout());
        int[] soFar = new int[cut];
        float[] lp = new float[cut];
        for (StepEvent e : kept) {
            builder.accept(e);
            if (e.sampledToken() >= 0) {
                soFar[e.outputIndex()] = e.sampledToken();
                lp[e.outputIndex()] = e.logprob();
            }
        }

        // Second life: a new engine is handed only what was emitted, as the inference operator does on a restore.
        int resumedOutputs = 0;
        try (LLMEngine second = engine(EngineConfig.builder(Fixtures.model(model)).threads(2))) {
            second.resume(r, soFar, lp);
            while (second.hasUnfinished()) {
                for (StepEvent e : second.step()) {
                    builder.accept(e); // throws on a gap or a duplicate position
                    if (e.sampledToken() >= 0) {
                        assertEquals(cut + resumedOutputs, e.outputIndex(), "sampling continues at the next index");
                        resumedOutputs++;
                    }
                }
            }
        }
        assertEquals(maxNew - cut, resumedOutputs, "the rest of the record came from the resumed engine");
        SameRecord.assertSameRecord(full, builder.build());
    }
}
