package io.routingreplay.runtime.backend.cuda;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The JNI shim as built into the jar (compile-native.sh, wherever the build made kernels.ptx, as on the machine that builds
 * the GPU bundle): it loads, its entry point binds to PdlLauncher.launch, and it refuses argument buffers it cannot
 * read before it touches the driver (no GPU needed). The launches themselves run in `run check` with
 * -Droutingreplay.cuda.pdl=on.
 */
class PdlLauncherNativeTest {
    @Test
    void theShimLoadsAndRefusesBadArgumentBuffersBeforeTheDriver() {
        assumeTrue(PdlLauncherNativeTest.class.getResource(CudaDevice.PTX_RESOURCE) != null,
                "built without nvcc: no kernels.ptx, no shim");
        assertNotNull(PdlLauncher.class.getResource(PdlLauncher.LIBRARY_RESOURCE),
                "the build puts libpdl_launch.so beside kernels.ptx");
        PdlLauncher.load();
        ByteBuffer heap = ByteBuffer.allocate(64);
        assertEquals(PdlLauncher.BAD_PARAMS, PdlLauncher.launch(0, 1, 1, 1, 32, 0, 0, heap, 2, true));
        ByteBuffer direct = ByteBuffer.allocateDirect(16);
        assertEquals(PdlLauncher.BAD_PARAMS, PdlLauncher.launch(0, 1, 1, 1, 32, 0, 0, direct, 3, true));
        ByteBuffer big = ByteBuffer.allocateDirect(8 * 80);
        assertEquals(PdlLauncher.BAD_PARAMS,
                PdlLauncher.launch(0, 1, 1, 1, 32, 0, 0, big, PdlLauncher.MAX_PARAMS + 1, false));
    }
}
