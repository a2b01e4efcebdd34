package io.routingreplay.runtime.backend;

import io.routingreplay.runtime.backend.cpu.CpuModelRunner;
import io.routingreplay.runtime.backend.cpu.sharded.ShardedCpuModelRunner;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.engine.EngineConfig;

import java.lang.reflect.InvocationTargetException;

/** Builds the backend an {@link EngineConfig} names. */
public final class ModelRunners {
    private ModelRunners() {
    }

    public static ModelRunner create(EngineConfig cfg) {
        return switch (cfg.backend()) {
            case "cpu" -> cfg.tensorParallel() > 1 ? ShardedCpuModelRunner.load(cfg) : CpuModelRunner.load(cfg);
            case "cuda" -> cuda(cfg);
            default -> throw new IllegalArgumentException("unknown backend '" + cfg.backend() + "'");
        };
    }

    private static ModelRunner cuda(EngineConfig cfg) {
        try {
            ModelConfig mc = cfg.syntheticConfig() != null
                    ? ModelConfigLoader.parse(new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(cfg.syntheticConfig().toFile()), null)
                    : ModelConfigLoader.load(cfg.modelDir());
            Class<?> c = Class.forName("io.routingreplay.runtime.backend.cuda.CudaModelRunner");
            return (ModelRunner) c.getMethod("create", EngineConfig.class, ModelConfig.class).invoke(null, cfg, mc);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("this build has no CUDA backend; use --backend cpu", e);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException | java.io.IOException e) {
            throw new IllegalStateException("cannot start the CUDA backend: " + e.getMessage(), e);
        }
    }
}
