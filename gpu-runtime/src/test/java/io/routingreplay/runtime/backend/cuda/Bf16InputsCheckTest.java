package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GemmInputs;
import io.routingreplay.runtime.kvcache.KvCacheDtype;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU check {@link CudaChecks#bf16Inputs} run on the CPU backend (whose bf16 products are the reference), so the
 * check itself is shown, without a GPU, to pass where the inputs are rounded and to fail where the mode does not take
 * effect.
 */
class Bf16InputsCheckTest {
    private Numerics before;

    @BeforeEach
    void bf16Inputs() {
        before = CudaChecks.numerics;
        CudaChecks.numerics = new Numerics(KvCacheDtype.FP32, GemmInputs.BF16);
    }

    @AfterEach
    void restore() {
        CudaChecks.numerics = before;
    }

    private static EngineConfig.Builder cpu(String fixture) {
        return CudaChecks.numerics.applyTo(EngineConfig.builder(Fixtures.model(fixture)).threads(2));
    }

    @Test
    void passesWhereTheInputsAreRounded() {
        assertEquals(List.of(), CudaChecks.bf16Inputs("qwen3-moe-tiny", Bf16InputsCheckTest::cpu));
    }

    @Test
    void failsWhereTheModeDoesNotTakeEffect() {
        List<String> fails = CudaChecks.bf16Inputs("qwen3-moe-tiny", f -> cpu(f).gemmInputs(GemmInputs.SPLIT));
        assertTrue(fails.stream().anyMatch(f -> f.contains("the bf16 module did not run")), fails::toString);
    }
}
