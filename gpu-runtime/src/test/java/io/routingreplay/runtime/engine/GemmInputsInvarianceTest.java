package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bf16 GEMM inputs keep batch invariance (each input is rounded on its own, and each sum's order still depends on the
 * width only): a request's record is the same alone, batched or prefilled in small chunks. And the rounding
 * happens: the records differ from split inputs' on every architecture family the fixtures hold (dense-free MoE,
 * shared experts with a gate, MLA).
 */
class GemmInputsInvarianceTest {

    private static List<GenerationRequest> requests() {
        Random rnd = new Random(5);
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            int[] prompt = new int[8 + rnd.nextInt(30)];
            for (int j = 0; j < prompt.length; j++) {
                prompt[j] = rnd.nextInt(900);
            }
            reqs.add(new GenerationRequest("r" + i, prompt, new SamplingParams(2 + rnd.nextInt(8), 0f, 1f, 0, 1L + i,
                    List.of(), true, true)));
        }
        return reqs;
    }

    private static List<GenerationResult> run(String model, GemmInputs inputs, int maxSeqs, int maxTokens,
                                              List<GenerationRequest> reqs) {
        try (LLMEngine e = LLMEngine.create(EngineConfig.builder(Fixtures.model(model)).threads(2).gemmInputs(inputs)
                .maxNumSeqs(maxSeqs).maxBatchTokens(maxTokens).build())) {
            return e.generate(reqs);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3-moe-tiny", "qwen2-moe-tiny", "deepseek-v3-tiny"})
    void bf16InputsGiveTheSameRecordAloneBatchedAndChunked(String model) {
        List<GenerationRequest> reqs = requests();
        List<GenerationResult> batched = run(model, GemmInputs.BF16, 64, 2048, reqs);
        List<GenerationResult> chunked = run(model, GemmInputs.BF16, 3, 5, reqs);
        for (int i = 0; i < 4; i++) {
            GenerationResult alone = run(model, GemmInputs.BF16, 64, 2048, List.of(reqs.get(i))).get(0);
            SameRecord.assertSameRecord(alone, batched.get(i));
            SameRecord.assertSameRecord(alone, chunked.get(i));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3-moe-tiny", "qwen2-moe-tiny", "deepseek-v3-tiny"})
    void bf16InputsChangeTheLogprobs(String model) {
        List<GenerationRequest> reqs = requests();
        List<GenerationResult> split = run(model, GemmInputs.SPLIT, 64, 2048, reqs);
        List<GenerationResult> bf16 = run(model, GemmInputs.BF16, 64, 2048, reqs);
        int differ = 0;
        for (int i = 0; i < reqs.size(); i++) {
            differ += Arrays.equals(split.get(i).outputLogprobs(), bf16.get(i).outputLogprobs()) ? 0 : 1;
        }
        assertTrue(differ == reqs.size(), model + ": only " + differ + " of " + reqs.size()
                + " requests' logprobs differ between split and bf16 GEMM inputs: the inputs are not rounded");
    }
}
