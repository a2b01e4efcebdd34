package io.routingreplay.runtime.backend.cpu.sharded;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.ForwardingModelRunner;
import io.routingreplay.runtime.backend.StepOutput;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.parallel.ParallelLayout;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How the sharded CPU reference fails when its ranks do not end a step together: a rank that disagrees with rank 0
 * fails the step (rank 0's answer is not returned), and a rank that throws releases the others from their
 * collectives and fails the step with its own exception. The fault is injected into the last rank of a real
 * 4-rank expert-parallel split of a fixture, on top of its real runner; a hang is a timeout, not a stuck build.
 */
class ShardedCpuModelRunnerTest {
    private static final String FIXTURE = "qwen3-moe-tiny";
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @Test
    void aRankThatSampledAnotherTokenFailsTheStep() {
        int vocab = Fixtures.vocabSize(FIXTURE);
        IllegalStateException e = failingStep(out -> {
            int[] tokens = out.sampledTokens().clone();
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = tokens[i] < 0 ? tokens[i] : (tokens[i] + 1) % vocab;
            }
            return new StepOutput(tokens, out.logprobs(), out.routingIds(), out.routingWeights(),
                    out.scoreLogprobs(), out.forcedReproduced(), out.keptLogits());
        });
        assertEquals("rank " + lastRank() + " sampled or routed differently from rank 0", e.getMessage());
    }

    @Test
    void aRankThatRoutedToAnotherExpertFailsTheStep() {
        IllegalStateException e = failingStep(out -> {
            int[][] ids = out.routingIds().clone();
            ids[0] = ids[0].clone();
            ids[0][0] = (ids[0][0] + 1) % config().numExperts;
            return new StepOutput(out.sampledTokens(), out.logprobs(), ids, out.routingWeights(),
                    out.scoreLogprobs(), out.forcedReproduced(), out.keptLogits());
        });
        assertEquals("rank " + lastRank() + " sampled or routed differently from rank 0", e.getMessage());
    }

    @Test
    void aRankThatThrowsReleasesTheOthersAndFailsTheStepWithItsCause() {
        RuntimeException fault = new RuntimeException("injected fault on the last rank");
        AtomicInteger steps = new AtomicInteger();
        // Throws on the second step, before its first collective: the other ranks are then waiting for it in
        // their first all-gather (and the first step shows the group worked until then).
        ShardedCpuModelRunner.RankWrapper throwing = (rank, real) -> rank != lastRank() ? real
                : new ForwardingModelRunner(real) {
                    @Override
                    public StepOutput forward(ForwardBatch batch) {
                        if (steps.incrementAndGet() == 2) {
                            throw fault;
                        }
                        return real.forward(batch);
                    }
                };
        assertTimeoutPreemptively(LIMIT, () -> {
            ShardedCpuModelRunner runner = ShardedCpuModelRunner.load(config(layout()), throwing);
            LLMEngine engine = LLMEngine.create(config(layout()), runner);
            RuntimeException thrown = assertThrows(RuntimeException.class,
                    () -> engine.generate(Fixtures.greedyRequests(FIXTURE).subList(0, 1)));
            assertSame(fault, thrown, "the step fails with the thrower's own exception");
            assertEquals(2, steps.get());
            runner.close();                        // closable after the failed step
        }, "a rank that throws must not leave the others waiting in a collective");
    }

    /** Runs a generation with the last rank's every output passed through {@code change}; returns the failure. */
    private static IllegalStateException failingStep(UnaryOperator<StepOutput> change) {
        ShardedCpuModelRunner.RankWrapper disagreeing = (rank, real) -> rank != lastRank() ? real
                : new ForwardingModelRunner(real) {
                    @Override
                    public StepOutput forward(ForwardBatch batch) {
                        return change.apply(real.forward(batch));
                    }
                };
        return assertTimeoutPreemptively(LIMIT, () -> {
            try (ShardedCpuModelRunner runner = ShardedCpuModelRunner.load(config(layout()), disagreeing);
                 LLMEngine engine = LLMEngine.create(config(layout()), runner)) {
                return assertThrows(IllegalStateException.class,
                        () -> engine.generate(Fixtures.greedyRequests(FIXTURE).subList(0, 1)));
            }
        });
    }

    private static ParallelLayout layout() {
        ParallelLayout l = ShardedLayouts.widestExpertParallel(FIXTURE);
        assertTrue(l.ranks() > 2, "the fault sits behind more than one healthy rank: " + l);
        return l;
    }

    private static int lastRank() {
        return layout().ranks() - 1;
    }

    private static ModelConfig config() {
        return io.routingreplay.runtime.config.ModelConfigLoader.load(Fixtures.model(FIXTURE));
    }

    private static EngineConfig config(ParallelLayout layout) {
        return EngineConfig.builder(Fixtures.model(FIXTURE)).threads(2).prefixCache(false)
                .tensorParallel(layout.tensorParallel()).expertParallel(layout.expertParallel()).build();
    }
}
