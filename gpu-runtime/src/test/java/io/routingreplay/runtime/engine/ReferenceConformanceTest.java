package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.testing.Fixtures;
import io.routingreplay.runtime.testing.Conformance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU backend against transformers' float32 outputs: exact greedy tokens, logprobs within 1e-3, identical top-k
 * ids wherever the reference margin is at least 1e-4 (below that float32 may legitimately swap the boundary expert).
 * The same holds for every case served from the prefix cache (its second run in one engine), which must moreover
 * equal the first, computed run bit for bit.
 */
class ReferenceConformanceTest {

    @ParameterizedTest
    @MethodSource("io.routingreplay.runtime.testing.Fixtures#cpu")
    void reproducesTransformers(String fixture) {
        try (LLMEngine engine = LLMEngine.create(EngineConfig.builder(Fixtures.model(fixture)).threads(2)
                .prefixCache(false).build())) {
            Conformance.assertConforms(fixture, engine.generate(Fixtures.greedyRequests(fixture)));
        }
    }

    @ParameterizedTest
    @MethodSource("io.routingreplay.runtime.testing.Fixtures#cpu")
    void reproducesTransformersFromThePrefixCache(String fixture) {
        List<GenerationRequest> reqs = Fixtures.greedyRequests(fixture);
        try (LLMEngine engine = LLMEngine.create(EngineConfig.builder(Fixtures.model(fixture)).threads(2).build())) {
            List<GenerationResult> computed = engine.generate(reqs);
            long hitsBefore = engine.stats().prefixCacheHits();
            List<GenerationResult> cached = engine.generate(reqs);
            long expectedHits = 0;
            int bs = engine.blockManager().blockSize();
            for (GenerationRequest r : reqs) {
                int p = r.promptTokenIds().length;
                // a prompt that ends on a block boundary is served whole, its first token from the kept logits row
                expectedHits += p % bs == 0 ? p : (p - 1) / bs * bs;
            }
            assertTrue(expectedHits > 0, fixture + " has a prompt of more than one block");
            assertEquals(expectedHits, engine.stats().prefixCacheHits() - hitsBefore,
                    "the second run is served every full prompt block (the last position's only with its logits)");
            Conformance.assertConforms(fixture, computed);
            Conformance.assertConforms(fixture, cached);
            for (int i = 0; i < reqs.size(); i++) {
                SameRecord.assertSameRecord(computed.get(i), cached.get(i));
            }
        }
    }
}
