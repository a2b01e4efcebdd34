package io.routingreplay.runtime.backend.cuda;

import jcuda.NativePointerObject;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUstream;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The PDL launcher's CPU side: the switch, the handles' addresses and the 8-byte argument slots the shim hands to
 *  cuLaunchKernelEx (each checked byte by byte against the little-endian layout the driver reads). */
class PdlLauncherTest {
    private static final long DEVICE_ADDRESS = 0x7f00_1234_5000L;

    @Test
    void offUnlessSetToOn() {
        assertFalse(PdlLauncher.parse(null));
        assertFalse(PdlLauncher.parse(""));
        assertFalse(PdlLauncher.parse("off"));
        assertFalse(PdlLauncher.parse(" OFF "));
        assertTrue(PdlLauncher.parse("on"));
        assertTrue(PdlLauncher.parse(" On "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PdlLauncher.parse("yes"));
        assertTrue(e.getMessage().contains("routingreplay.cuda.pdl=yes"), e.getMessage());
    }

    @Test
    void eachArgumentFillsItsOwnEightByteSlotLittleEndian() throws Exception {
        CUdeviceptr base = withNativePointer(new CUdeviceptr(), DEVICE_ADDRESS);
        Object[] args = {0x01020304, base, base.withByteOffset(8).withByteOffset(16), null, 1.5f, -2L, -1};
        ByteBuffer buf = PdlLauncher.pack(args, null);
        assertTrue(buf.isDirect());
        byte[] got = new byte[8 * args.length];
        buf.get(0, got);
        byte[] want = new byte[8 * args.length];
        putLe(want, 0, 0x01020304L, 4);
        putLe(want, 1, DEVICE_ADDRESS, 8);
        putLe(want, 2, DEVICE_ADDRESS + 24, 8); // JCuda's own record of the offsets: byteOffset=24
        assertTrue(args[2].toString().contains("byteOffset=24"), args[2].toString());
        putLe(want, 3, 0L, 8);
        putLe(want, 4, 0x3FC00000L, 4); // 1.5f
        putLe(want, 5, -2L, 8);
        putLe(want, 6, 0xFFFFFFFFL, 4); // -1 as a 4-byte int: the slot's high bytes stay 0
        assertArrayEquals(want, got);
    }

    @Test
    void aBufferIsReusedWhenLargeEnoughAndItsOldSlotsOverwritten() {
        ByteBuffer first = PdlLauncher.pack(new Object[]{-1L, -1L}, null);
        ByteBuffer again = PdlLauncher.pack(new Object[]{7, 8}, first);
        assertSame(first, again);
        byte[] got = new byte[16];
        again.get(0, got);
        byte[] want = new byte[16];
        putLe(want, 0, 7, 4);
        putLe(want, 1, 8, 4);
        assertArrayEquals(want, got);
        ByteBuffer small = ByteBuffer.allocateDirect(8);
        assertTrue(PdlLauncher.pack(new Object[]{1, 2}, small).capacity() >= 16);
    }

    @Test
    void unknownArgumentTypesAndTooManyArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> PdlLauncher.pack(new Object[]{"x"}, null));
        assertThrows(IllegalArgumentException.class,
                () -> PdlLauncher.pack(new Object[PdlLauncher.MAX_PARAMS + 1], null));
    }

    @Test
    void handlesAreTheirNativePointers() throws Exception {
        assertEquals(0x1234L, PdlLauncher.address(withNativePointer(new CUfunction(), 0x1234L)));
        assertEquals(0x5678L, PdlLauncher.address(withNativePointer(new CUstream(), 0x5678L)));
        assertEquals(DEVICE_ADDRESS + 4, PdlLauncher.address(
                withNativePointer(new CUdeviceptr(), DEVICE_ADDRESS).withByteOffset(4)));
    }

    @Test
    void theShimsCodesSayWhatIsWrong() {
        assertTrue(PdlLauncher.describe(PdlLauncher.NO_LAUNCH_EX).contains("cuLaunchKernelEx"));
        assertTrue(PdlLauncher.describe(PdlLauncher.NO_LIBCUDA).contains("libcuda.so.1"));
        assertTrue(PdlLauncher.describe(1).contains("CUDA_ERROR_INVALID_VALUE"), PdlLauncher.describe(1));
    }

    /** Little-endian bytes of the low {@code width} bytes of v into slot {@code slot}. */
    private static void putLe(byte[] out, int slot, long v, int width) {
        for (int i = 0; i < width; i++) {
            out[8 * slot + i] = (byte) (v >>> (8 * i));
        }
    }

    /** A handle standing for {@code address}, as the driver would have filled it in. */
    static <T extends NativePointerObject> T withNativePointer(T o, long address) throws Exception {
        Field f = NativePointerObject.class.getDeclaredField("nativePointer");
        f.setAccessible(true);
        f.setLong(o, address);
        return o;
    }
}
