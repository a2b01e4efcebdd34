package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The engine's host time by part: the step observer's time is its own part, not lost between the others. */
class HostTimesTest {

    @Test
    void theObserversTimeIsCountedAsItsOwnPart() throws Exception {
        long sleepNanos = 20_000_000L;
        int[] steps = {0};
        try (LLMEngine e = LLMEngine.create(EngineConfig.builder(Fixtures.model("qwen3-moe-tiny")).threads(2).build())) {
            e.observeSteps((batch, out, nanos) -> {
                steps[0]++;
                try {
                    Thread.sleep(sleepNanos / 1_000_000);
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            });
            e.generate(List.of(new GenerationRequest("r", new int[]{1, 2, 3, 4},
                    new SamplingParams(3, 0f, 1f, 0, 1L, List.of(), true, true))));
            HostTimes t = e.hostTimes();
            assertTrue(steps[0] >= 3, "a prompt step and two decode steps at least: " + steps[0]);
            assertTrue(t.observeNanos() >= steps[0] * sleepNanos, t.describe());
            assertTrue(t.postprocessNanos() < steps[0] * sleepNanos, "the observer is not post-processing: "
                    + t.describe());
            assertTrue(t.describe().contains("observer "), t.describe());
        }
    }
}
