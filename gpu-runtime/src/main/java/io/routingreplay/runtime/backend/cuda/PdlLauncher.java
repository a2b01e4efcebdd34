package io.routingreplay.runtime.backend.cuda;

import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.CudaException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Kernel launches with programmatic dependent launch (PDL, Hopper; issue 14), switched by
 * {@code -Droutingreplay.cuda.pdl=on|off} (default off): {@code cuLaunchKernelEx} with
 * {@code CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION}, so a kernel may start while the kernel before it
 * on the stream drains (inside stream capture: a programmatic edge of the decode graph). The kernels' side is
 * kernels/pdl.cuh. JCuda 12.6 has no {@code cuLaunchKernelEx}, so the launch goes through a small JNI library
 * (src/main/native/pdl_launch.c, built into the jar as {@value #LIBRARY_RESOURCE} by compile-native.sh), which
 * takes the driver handles as numbers and the kernel arguments as one direct buffer of 8-byte slots
 * ({@link #pack}).
 */
final class PdlLauncher {
    static final String PROPERTY = "routingreplay.cuda.pdl";
    static final String LIBRARY_RESOURCE = "/io/routingreplay/runtime/backend/cuda/libpdl_launch.so";
    /** Bytes per kernel argument in the packed buffer: every argument type the engine passes fits in 8. */
    static final int SLOT_BYTES = 8;
    /** The shim's limit (PDL_MAX_PARAMS in pdl_launch.c). */
    static final int MAX_PARAMS = 64;
    // pdl_launch.c's own codes, below CUresult's range
    static final int NO_LIBCUDA = -1;
    static final int NO_LAUNCH_EX = -2;
    static final int BAD_PARAMS = -3;

    private static final Field NATIVE_POINTER = field(NativePointerObject.class, "nativePointer");
    private static final Field BYTE_OFFSET = field(Pointer.class, "byteOffset");
    private static boolean loaded;

    private PdlLauncher() {
    }

    /** {@code -Droutingreplay.cuda.pdl}: unset or {@code off} — plain cuLaunchKernel; {@code on} — PDL launches. */
    static boolean enabledFromSystemProperty() {
        return parse(System.getProperty(PROPERTY));
    }

    static boolean parse(String value) {
        if (value == null || value.isBlank() || value.trim().equalsIgnoreCase("off")) {
            return false;
        }
        if (value.trim().toLowerCase(Locale.ROOT).equals("on")) {
            return true;
        }
        throw new IllegalArgumentException("-D" + PROPERTY + "=" + value + ": expected on or off");
    }

    /**
     * Writes {@code args} (the {@link CudaDevice#launch} argument types: CUdeviceptr or null — its device address
     * plus byte offset, or 0; Integer and Float — 4 bytes; Long — 8 bytes) into 8-byte little-endian slots of
     * {@code buf} (direct, position 0) from slot 0; returns {@code buf}, or a larger buffer when it is too small.
     * The driver reads each argument's size (from the kernel's signature) at the start of its slot; the unused
     * high bytes of a 4-byte argument are zero.
     */
    static ByteBuffer pack(Object[] args, ByteBuffer buf) {
        if (args.length > MAX_PARAMS) {
            throw new IllegalArgumentException(args.length + " kernel arguments; the PDL launcher takes at most "
                    + MAX_PARAMS);
        }
        if (buf == null || buf.capacity() < SLOT_BYTES * args.length) {
            buf = ByteBuffer.allocateDirect(SLOT_BYTES * Math.max(args.length, 32));
        }
        buf.order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            int at = SLOT_BYTES * i;
            buf.putLong(at, 0L);
            if (a == null) {
                continue; // a NULL pointer
            } else if (a instanceof CUdeviceptr d) {
                buf.putLong(at, address(d));
            } else if (a instanceof Integer v) {
                buf.putInt(at, v);
            } else if (a instanceof Long v) {
                buf.putLong(at, v);
            } else if (a instanceof Float v) {
                buf.putFloat(at, v);
            } else {
                throw new IllegalArgumentException("kernel argument of type " + a.getClass());
            }
        }
        return buf;
    }

    /** The address a JCuda handle stands for: its native pointer, plus the byte offset of a Pointer (CUdeviceptr). */
    static long address(NativePointerObject o) {
        try {
            long p = NATIVE_POINTER.getLong(o);
            return o instanceof Pointer ? p + BYTE_OFFSET.getLong(o) : p;
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Launches {@code fn} with {@code numParams} arguments packed in {@code params}; {@code programmatic}: with
     *  the PDL attribute. Throws CudaException on any error, as JCuda's launches do. The library is loaded
     *  ({@link #load}) by the device that turns PDL on, once, not on this per-kernel path. */
    static void launch(CUfunction fn, int gx, int gy, int gz, int block, int sharedBytes, CUstream stream,
                       ByteBuffer params, int numParams, boolean programmatic) {
        int rc = launch(address(fn), gx, gy, gz, block, sharedBytes, address(stream), params, numParams, programmatic);
        if (rc != CUresult.CUDA_SUCCESS) {
            throw new CudaException(describe(rc));
        }
    }

    static String describe(int rc) {
        return switch (rc) {
            case NO_LIBCUDA -> "PDL launch: libcuda.so.1 could not be opened";
            case NO_LAUNCH_EX -> "PDL launch: the CUDA driver has no cuLaunchKernelEx (needs a CUDA 12 driver); run "
                    + "with -D" + PROPERTY + "=off";
            case BAD_PARAMS -> "PDL launch: kernel arguments not a direct buffer of 8-byte slots, or more than "
                    + MAX_PARAMS;
            default -> "cuLaunchKernelEx: " + CUresult.stringFor(rc);
        };
    }

    /** Loads the JNI library from the jar (once); throws with the reason when this build has none. */
    static synchronized void load() {
        if (loaded) {
            return;
        }
        try (InputStream in = PdlLauncher.class.getResourceAsStream(LIBRARY_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(LIBRARY_RESOURCE + " is not on the classpath: this jar was built "
                        + "without gcc or the CUDA toolkit's cuda.h (run with -D" + PROPERTY + "=off)");
            }
            Path tmp = Files.createTempFile("routingreplay-pdl", ".so");
            tmp.toFile().deleteOnExit();
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            System.load(tmp.toAbsolutePath().toString());
            loaded = true;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** pdl_launch.c: 0 (CUDA_SUCCESS), a CUresult, or one of NO_LIBCUDA, NO_LAUNCH_EX, BAD_PARAMS. */
    static native int launch(long function, int gx, int gy, int gz, int block, int sharedBytes, long stream,
                             ByteBuffer params, int numParams, boolean programmatic);

    private static Field field(Class<?> c, String name) {
        try {
            Field f = c.getDeclaredField(name);
            f.setAccessible(true);
            return f;
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException("JCuda's " + c.getName() + " has no field " + name
                    + " (a JCuda version this launcher does not know)", e);
        }
    }
}
