package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link EngineConfig.Builder#build()} refuses what cannot run, with a message that says how to fix it. */
class EngineConfigTest {
    private static String refusal(EngineConfig.Builder b) {
        return assertThrows(IllegalArgumentException.class, b::build).getMessage();
    }

    @Test
    void syntheticWeightsNeedTheCudaBackend() {
        Path config = Fixtures.model("mixtral-tiny").resolve("config.json");
        assertTrue(refusal(EngineConfig.builder(null).syntheticConfig(config)).contains("use backend 'cuda'"));
        EngineConfig ok = EngineConfig.builder(null).syntheticConfig(config).backend("cuda").build();
        assertEquals(config, ok.syntheticConfig());
        assertTrue(refusal(EngineConfig.builder(null).syntheticConfig(Path.of("no-such.json")).backend("cuda"))
                .contains("does not exist"));
    }

    @Test
    void refusalsSayWhatToChange() {
        assertTrue(refusal(EngineConfig.builder(null)).contains("--model DIR"));
        assertTrue(refusal(EngineConfig.builder(Path.of("no-such-dir"))).contains("does not exist"));
        Path model = Fixtures.model("mixtral-tiny");
        assertTrue(refusal(EngineConfig.builder(model).backend("tpu")).contains("'cpu' or 'cuda'"));
        assertTrue(refusal(EngineConfig.builder(model).maxNumSeqs(64).maxBatchTokens(32))
                .contains("must be >= maxNumSeqs"));
        assertTrue(refusal(EngineConfig.builder(model).kvBlockSize(24)).contains("power of two"));
    }

    @Test
    void parallelLayoutsAreCheckedBeforeAnyWeightIsRead() {
        Path model = Fixtures.model("mixtral-tiny");
        assertTrue(refusal(EngineConfig.builder(model).tensorParallel(0)).contains("tensorParallel must be >= 1"));
        assertTrue(refusal(EngineConfig.builder(model).tensorParallel(4).expertParallel(3))
                .contains("expertParallel (3) must divide tensorParallel (4)"));
        assertTrue(refusal(EngineConfig.builder(model).expertParallel(2)).contains("must divide tensorParallel (1)"));
        assertTrue(refusal(EngineConfig.builder(model).backend("cuda").tensorParallel(2))
                .contains("multi-GPU CUDA backend, which is not built yet"));
        EngineConfig ok = EngineConfig.builder(model).tensorParallel(4).expertParallel(2).build();
        assertEquals(4, ok.tensorParallel());
        assertEquals(2, ok.expertParallel());
    }

    @Test
    void theSwapSpaceDefaultsPerBackendAndIsNeverNegative() {
        Path model = Fixtures.model("mixtral-tiny");
        assertEquals(EngineConfig.DEFAULT_CUDA_SWAP_SPACE_BYTES,
                EngineConfig.builder(model).backend("cuda").build().swapSpaceBytes());
        long cpu = EngineConfig.builder(model).build().swapSpaceBytes();
        assertTrue(cpu > 0 && cpu <= Runtime.getRuntime().maxMemory() / 8, "an eighth of the heap at most: " + cpu);
        assertEquals(0, EngineConfig.builder(model).swapSpaceBytes(0).build().swapSpaceBytes());
        assertEquals(cpu, EngineConfig.builder(model).swapSpaceBytes((Long) null).build().swapSpaceBytes());
        assertTrue(refusal(EngineConfig.builder(model).swapSpaceBytes(-1)).contains("swapSpaceBytes must be >= 0"));
    }
}
