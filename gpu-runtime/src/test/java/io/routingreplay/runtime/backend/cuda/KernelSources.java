package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The kernels as the CPU-side tests read them: the built PTX module and the CUDA sources' #defines. */
final class KernelSources {
    private KernelSources() {
    }

    /** kernels.ptx from the classpath; the calling test is skipped (not failed) where the build had no nvcc. */
    static String ptx() throws IOException {
        return ptx(CudaDevice.PTX_RESOURCE);
    }

    /** A PTX module of the jar by its resource path; skipped (not failed) where the build had no nvcc. */
    static String ptx(String resource) throws IOException {
        try (var in = KernelSources.class.getResourceAsStream(resource)) {
            Assumptions.assumeTrue(in != null, "built without nvcc: no " + resource);
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    /** The value of {@code #define name N} in gpu-runtime/src/main/cuda/{@code file}. */
    static int define(String file, String name) throws IOException {
        String src = Files.readString(Fixtures.root().getParent().resolve(Path.of("gpu-runtime/src/main/cuda", file)));
        Matcher m = Pattern.compile("^#define " + name + " (\\d+)\\b", Pattern.MULTILINE).matcher(src);
        assertTrue(m.find(), name + " is not defined in " + file);
        return Integer.parseInt(m.group(1));
    }
}
