package io.routingreplay.runtime.backend.cpu.sharded;

import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.engine.SameRecord;
import io.routingreplay.runtime.parallel.ParallelLayout;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Within one parallel layout a request's record is bit for bit the same alone, in a batch of 24 and prefilled in
 * chunks of 5 tokens: the sums over ranks add in rank order whatever the batch. On every CPU fixture, under its
 * widest expert-parallel layout (TP=4 EP=2 where the shape allows).
 */
class ShardedBatchInvarianceTest {

    @ParameterizedTest
    @MethodSource("io.routingreplay.runtime.testing.Fixtures#cpu")
    void sameRecordAloneBatchedAndChunked(String fixture) {
        ParallelLayout layout = ShardedLayouts.widestExpertParallel(fixture);
        List<GenerationRequest> requests = requests(fixture, 24);
        List<GenerationResult> alone = new ArrayList<>();
        try (LLMEngine engine = LLMEngine.create(config(fixture, layout).build())) {
            for (GenerationRequest r : requests.subList(0, 6)) {
                alone.add(engine.generate(List.of(r)).get(0));
            }
        }
        List<GenerationResult> batched;
        try (LLMEngine engine = LLMEngine.create(config(fixture, layout).build())) {
            batched = engine.generate(requests);
        }
        List<GenerationResult> chunked;
        try (LLMEngine engine = LLMEngine.create(config(fixture, layout).maxNumSeqs(3).maxBatchTokens(5).build())) {
            chunked = engine.generate(requests.subList(0, 6));
        }
        for (int i = 0; i < alone.size(); i++) {
            SameRecord.assertSameRecord(alone.get(i), batched.get(i));
            SameRecord.assertSameRecord(alone.get(i), chunked.get(i));
        }
        for (GenerationResult r : batched) {
            assertEquals(r.promptTokenIds().length + r.outputTokenIds().length - 1, r.routing().numTokens(),
                    "one record per request, every position routed");
        }
    }

    private static EngineConfig.Builder config(String fixture, ParallelLayout layout) {
        return EngineConfig.builder(Fixtures.model(fixture)).threads(2).tensorParallel(layout.tensorParallel())
                .expertParallel(layout.expertParallel());
    }

    /** Random prompts of 1..40 tokens, half greedy, half sampled with a seed. */
    private static List<GenerationRequest> requests(String fixture, int n) {
        int vocab = Math.min(151_000, Fixtures.vocabSize(fixture));
        Random rnd = new Random(11);
        List<GenerationRequest> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] prompt = new int[1 + rnd.nextInt(40)];
            for (int j = 0; j < prompt.length; j++) {
                prompt[j] = rnd.nextInt(vocab);
            }
            boolean sampled = i % 2 == 1;
            out.add(new GenerationRequest("r" + i, prompt, new SamplingParams(1 + rnd.nextInt(10),
                    sampled ? 0.8f : 0f, sampled ? 0.9f : 1f, sampled ? 50 : 0, 500L + i, List.of(), true, true)));
        }
        return out;
    }
}
