package io.routingreplay.runtime.backend.cpu.sharded;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.parallel.ParallelLayout;
import io.routingreplay.runtime.testing.Fixtures;

import java.util.ArrayList;
import java.util.List;

/**
 * The layouts the sharded checks run each fixture under: every one of TP=2, TP=2 EP=2, TP=4 EP=2 (experts TP=2 ×
 * EP=2) and, for a model whose heads do not split in two (deepseek-v2-greedy-tiny has 3), TP=3 and TP=3 EP=3 that
 * the fixture's config accepts ({@link ParallelLayout#check}).
 */
final class ShardedLayouts {
    static final List<ParallelLayout> CANDIDATES = List.of(new ParallelLayout(2, 1), new ParallelLayout(2, 2),
            new ParallelLayout(4, 2), new ParallelLayout(3, 1), new ParallelLayout(3, 3));

    private ShardedLayouts() {
    }

    static List<ParallelLayout> accepted(String fixture) {
        ModelConfig c = ModelConfigLoader.load(Fixtures.model(fixture));
        List<ParallelLayout> out = new ArrayList<>();
        for (ParallelLayout l : CANDIDATES) {
            try {
                l.check(c);
                out.add(l);
            } catch (IllegalArgumentException refused) {
                // this split does not fit the fixture's shape; ParallelLayoutTest checks the refusals
            }
        }
        return out;
    }

    /** The accepted layout with the most ranks that splits the experts by id (EP > 1). */
    static ParallelLayout widestExpertParallel(String fixture) {
        ParallelLayout best = null;
        for (ParallelLayout l : accepted(fixture)) {
            if (l.expertParallel() > 1 && (best == null || l.ranks() > best.ranks())) {
                best = l;
            }
        }
        if (best == null) {
            throw new AssertionError(fixture + " accepts no expert-parallel layout of " + CANDIDATES);
        }
        return best;
    }
}
