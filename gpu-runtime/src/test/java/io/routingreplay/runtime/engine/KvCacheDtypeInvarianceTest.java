package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.kvcache.KvCacheDtype;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A rounded K/V cache keeps batch invariance: the values are rounded once, when written, and every reader — the
 * chunk that wrote them included — reads the rounded values, so a request's record is the same alone, batched or
 * prefilled in small chunks. And the rounding happens: bf16 / fp8 records differ from fp32 ones.
 */
class KvCacheDtypeInvarianceTest {
    private static final String MODEL = "qwen3-moe-tiny";

    private static List<GenerationRequest> requests() {
        Random rnd = new Random(3);
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            int[] prompt = new int[8 + rnd.nextInt(30)];
            for (int j = 0; j < prompt.length; j++) {
                prompt[j] = rnd.nextInt(151_000);
            }
            reqs.add(new GenerationRequest("r" + i, prompt, new SamplingParams(2 + rnd.nextInt(8), 0f, 1f, 0, 1L + i,
                    List.of(), true, true)));
        }
        return reqs;
    }

    private static List<GenerationResult> run(KvCacheDtype kv, int maxSeqs, int maxTokens, List<GenerationRequest> reqs) {
        try (LLMEngine e = LLMEngine.create(EngineConfig.builder(Fixtures.model(MODEL)).threads(2).kvCacheDtype(kv)
                .maxNumSeqs(maxSeqs).maxBatchTokens(maxTokens).build())) {
            return e.generate(reqs);
        }
    }

    @ParameterizedTest
    @EnumSource(value = KvCacheDtype.class, names = {"BF16", "FP8"})
    void sameRecordAloneBatchedAndChunked(KvCacheDtype kv) {
        List<GenerationRequest> reqs = requests();
        List<GenerationResult> batched = run(kv, 64, 2048, reqs);
        List<GenerationResult> chunked = run(kv, 3, 5, reqs);
        for (int i = 0; i < 4; i++) {
            GenerationResult alone = run(kv, 64, 2048, List.of(reqs.get(i))).get(0);
            for (GenerationResult other : List.of(batched.get(i), chunked.get(i))) {
                assertArrayEquals(alone.outputTokenIds(), other.outputTokenIds(), kv + " tokens " + i);
                assertArrayEquals(alone.outputLogprobs(), other.outputLogprobs(), kv + " logprobs " + i);
                assertArrayEquals(alone.routing().ids(), other.routing().ids(), kv + " routing ids " + i);
                assertArrayEquals(alone.routing().weights(), other.routing().weights(), kv + " weights " + i);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = KvCacheDtype.class, names = {"BF16", "FP8"})
    void roundedCacheChangesTheLogprobs(KvCacheDtype kv) {
        List<GenerationRequest> reqs = requests();
        List<GenerationResult> exact = run(KvCacheDtype.FP32, 64, 2048, reqs);
        List<GenerationResult> rounded = run(kv, 64, 2048, reqs);
        boolean anyDiffers = false;
        for (int i = 0; i < reqs.size(); i++) {
            anyDiffers |= !Arrays.equals(exact.get(i).outputLogprobs(), rounded.get(i).outputLogprobs());
        }
        assertFalse(!anyDiffers, kv + " K/V gave fp32's logprobs bit for bit on every request: the cache is not rounded");
    }
}
