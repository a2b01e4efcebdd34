package io.routingreplay.runtime.parallel;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which splits a model accepts (refusals name the numbers), and that each layout's ranks cover the model once. */
class ParallelLayoutTest {

    private static ModelConfig config(String fixture) {
        return ModelConfigLoader.load(Fixtures.model(fixture));
    }

    private static String refusal(ParallelLayout layout, String fixture) {
        return assertThrows(IllegalArgumentException.class, () -> layout.check(config(fixture))).getMessage();
    }

    @Test
    void refusesHeadsThatDoNotDivide() {
        // deepseek-v2-greedy-tiny: 3 attention heads
        assertTrue(refusal(new ParallelLayout(2, 1), "deepseek-v2-greedy-tiny")
                .contains("num_attention_heads (3) is not divisible by tensor-parallel (2)"));
    }

    @Test
    void refusesKvHeadsThatNeitherSplitNorReplicate() {
        // glm4-moe-tiny: 6 query heads, 2 K/V heads; 3 ranks get 2 query heads each but 2 K/V heads don't spread
        assertTrue(refusal(new ParallelLayout(3, 1), "glm4-moe-tiny").contains("num_key_value_heads (2)"));
    }

    @Test
    void refusesExpertsThatDoNotDivideIntoTheGroups() {
        // glm4-moe-tiny: 6 heads split over 6 ranks (2 K/V heads replicated), but 16 experts in 6 groups do not
        assertTrue(refusal(new ParallelLayout(6, 6), "glm4-moe-tiny")
                .contains("num_experts (16) is not divisible by expert-parallel (6)"));
        new ParallelLayout(6, 2).check(config("glm4-moe-tiny"));   // 2 groups of 8 experts, each split 3 ways
    }

    @Test
    void refusesExpertParallelThatDoesNotDivideTheRanks() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ParallelLayout(4, 3));
        assertTrue(e.getMessage().contains("expert-parallel (3) must divide tensor-parallel (4)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ParallelLayout(0, 1));
    }

    @Test
    void theRanksOfALayoutHoldEveryHeadExpertColumnAndVocabularyRowOnce() {
        for (String fixture : Fixtures.CPU) {
            ModelConfig c = config(fixture);
            for (ParallelLayout layout : new ParallelLayout[]{new ParallelLayout(2, 1), new ParallelLayout(2, 2),
                    new ParallelLayout(4, 2), new ParallelLayout(3, 3)}) {
                try {
                    layout.check(c);
                } catch (IllegalArgumentException refused) {
                    continue;
                }
                int heads = 0, vocab = 0, dense = 0;
                Set<Integer> kvHeads = new HashSet<>();
                int[] expertColumns = new int[c.numExperts];
                for (int r = 0; r < layout.ranks(); r++) {
                    RankShard s = layout.shard(c, r);
                    assertEquals(heads, s.heads().from(), fixture + " " + layout + " heads are contiguous");
                    heads = s.heads().to();
                    assertEquals(vocab, s.vocab().from());
                    vocab = s.vocab().to();
                    assertEquals(dense, s.denseColumns().from());
                    dense = s.denseColumns().to();
                    for (int h = s.kvHeads().from(); h < s.kvHeads().to(); h++) {
                        kvHeads.add(h);
                    }
                    for (int q = s.heads().from(); q < s.heads().to(); q++) {   // a query head reads a K/V head
                        int kv = q / (c.attention.numHeads() / c.attention.numKvHeads());  // the rank holds
                        assertTrue(s.kvHeads().contains(kv), fixture + " " + layout + " rank " + r + " head " + q);
                    }
                    for (int e = s.experts().from(); e < s.experts().to(); e++) {
                        expertColumns[e] += s.expertColumns().size();
                    }
                }
                assertEquals(c.attention.numHeads(), heads);
                assertEquals(c.vocabSize, vocab);
                assertEquals(c.denseIntermediateSize, dense);
                assertEquals(c.attention.numKvHeads(), kvHeads.size());
                for (int e = 0; e < c.numExperts; e++) {
                    assertEquals(c.moeIntermediateSize, expertColumns[e], fixture + " " + layout + " expert " + e
                            + ": its columns are spread over its group exactly once");
                }
            }
        }
    }
}
