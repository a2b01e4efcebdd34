package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.engine.GemmInputs;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static jcuda.driver.JCudaDriver.*;

/**
 * One GPU through the CUDA driver API: its primary context, the kernels module (PTX from the jar, compiled by the
 * build's cuda-ptx profile) — with {@link GemmInputs#BF16} also the GEMM module whose entries replace the kernels
 * module's entries of the same names — one stream, and the allocations made through it (freed in {@link #close()}).
 * Every driver call throws on error (JCuda exceptions enabled), so no return code goes unchecked.
 */
final class CudaDevice implements AutoCloseable {
    static final String PTX_RESOURCE = "/io/routingreplay/runtime/backend/cuda/kernels.ptx";
    /** The GEMM entries multiplying bf16-rounded activations (gemm_bf16_inputs.cu), for {@link GemmInputs#BF16}. */
    static final String GEMM_BF16_INPUTS_PTX_RESOURCE = "/io/routingreplay/runtime/backend/cuda/gemm_bf16_inputs.ptx";

    final CUdevice device = new CUdevice();
    final CUcontext context = new CUcontext();
    final CUstream stream = new CUstream();
    final String name;
    private final CUmodule module = new CUmodule();
    /** The module whose entries {@link #fn} takes first (null: none), and the names of those entries. */
    private final CUmodule gemmModule;
    private final Set<String> gemmEntries;
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final List<CUdeviceptr> allocations = new ArrayList<>();
    /** Synchronized: the swap space pins its chunks ahead of use on a thread of its own (CudaKvSwap). */
    private final List<Pointer> hostAllocations = Collections.synchronizedList(new ArrayList<>());
    private List<Object[]> profiled; // {name, start event, end event} while profiling

    CudaDevice(int ordinal) {
        this(ordinal, GemmInputs.SPLIT);
    }

    CudaDevice(int ordinal, GemmInputs gemmInputs) {
        // both images read first: a jar without one fails here, before a context is retained
        byte[] kernelsPtx = readPtx(PTX_RESOURCE);
        byte[] gemmPtx = gemmInputs == GemmInputs.BF16 ? readPtx(GEMM_BF16_INPUTS_PTX_RESOURCE) : null;
        JCudaDriver.setExceptionsEnabled(true);
        cuInit(0);
        int[] count = new int[1];
        cuDeviceGetCount(count);
        if (ordinal >= count[0]) {
            throw new IllegalStateException("CUDA device " + ordinal + " requested but " + count[0] + " present");
        }
        cuDeviceGet(device, ordinal);
        byte[] n = new byte[256];
        cuDeviceGetName(n, n.length, device);
        int len = 0;
        while (len < n.length && n[len] != 0) {
            len++;
        }
        name = new String(n, 0, len, StandardCharsets.US_ASCII);
        cuDevicePrimaryCtxRetain(context, device);
        cuCtxSetCurrent(context);
        cuModuleLoadData(module, kernelsPtx);
        if (gemmPtx != null) {
            gemmModule = new CUmodule();
            cuModuleLoadData(gemmModule, gemmPtx);
            gemmEntries = ptxEntries(gemmPtx);
        } else {
            gemmModule = null;
            gemmEntries = Set.of();
        }
        cuStreamCreate(stream, 0);
    }

    /** Makes this device's context current on the calling thread (the engine may drive it from any one thread). */
    void bind() {
        cuCtxSetCurrent(context);
    }

    /** The entry points a PTX image defines ({@code .visible .entry NAME(}). */
    static Set<String> ptxEntries(byte[] ptx) {
        Set<String> names = new HashSet<>();
        Matcher m = PTX_ENTRY.matcher(new String(ptx, StandardCharsets.US_ASCII));
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    private static final Pattern PTX_ENTRY = Pattern.compile("(?m)^\\.visible \\.entry (\\w+)\\(");

    private static byte[] readPtx(String resource) {
        try (InputStream in = CudaDevice.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource.substring(resource.lastIndexOf('/') + 1) + " is not on the "
                        + "classpath: this jar was built without nvcc (build on a machine with the CUDA toolkit, or "
                        + "use --backend cpu)");
            }
            byte[] ptx = in.readAllBytes();
            byte[] z = new byte[ptx.length + 1]; // cuModuleLoadData wants a NUL-terminated image
            System.arraycopy(ptx, 0, z, 0, ptx.length);
            return z;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    CUfunction fn(String name) {
        return functions.computeIfAbsent(name, k -> {
            CUfunction f = new CUfunction();
            cuModuleGetFunction(f, gemmEntries.contains(k) ? gemmModule : module, k);
            // kernels that live on shared memory (the staged attention: ~41 KB per 128-thread block, the tiled
            // GEMMs 48 KB) need the largest carveout to keep several blocks per multiprocessor; the driver may
            // otherwise pick a small one
            boolean persistent = PersistentGemm.isPersistent(k);
            boolean sharedHeavy = k.startsWith("attention_staged") || persistent || TiledGemm.isTiled(k)
                    || ClassSplitDense.isCluster(k);
            cuFuncSetAttribute(f, jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT,
                    sharedHeavy ? 100 : -1);
            if (persistent) { // their cp.async ring lives in dynamic shared memory, beyond the default 48 KB
                cuFuncSetAttribute(f, jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                        PersistentGemm.MAX_SHARED_BYTES);
            }
            int classSplitShared = ClassSplitDense.dynamicSharedBytes(k); // 64-136 KB, beyond the default 48 KB
            if (classSplitShared > 0) {
                cuFuncSetAttribute(f, jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                        classSplitShared);
            }
            if (TensorCoreAttention.isTensorCoreAttention(k)) { // a whole K/V partition staged: 45-102 KB
                cuFuncSetAttribute(f, jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 100);
                cuFuncSetAttribute(f, jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                        TensorCoreAttention.MAX_SHARED_BYTES);
            }
            return f;
        });
    }

    /** Resident blocks per multiprocessor of {@code f} at {@code block} threads (registers, shared memory, carveout). */
    int blocksPerMultiprocessor(String f, int block) {
        return blocksPerMultiprocessor(f, block, 0);
    }

    /** As {@link #blocksPerMultiprocessor(String, int)} with {@code sharedBytes} of dynamic shared memory. */
    int blocksPerMultiprocessor(String f, int block, int sharedBytes) {
        int[] n = new int[1];
        cuOccupancyMaxActiveBlocksPerMultiprocessor(n, fn(f), block, sharedBytes);
        return n[0];
    }

    CUdeviceptr alloc(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        cuMemAlloc(p, Math.max(bytes, 16));
        allocations.add(p);
        return p;
    }

    /** Frees device memory from {@link #alloc} before {@link #close()} (a buffer that grew); the caller makes sure
     *  no enqueued work still uses it. */
    void free(CUdeviceptr p) {
        if (allocations.remove(p)) {
            cuMemFree(p);
        }
    }

    /** Page-locked host memory (needed for asynchronous copies that a graph-launched step overlaps). */
    Pointer allocHost(long bytes) {
        Pointer p = new Pointer();
        cuMemAllocHost(p, Math.max(bytes, 16));
        hostAllocations.add(p);
        return p;
    }

    /**
     * Page-locked host memory mapped into the device's address space (kernels read and write it over PCIe through
     * {@link #mappedDevicePointer}); portable, so any context may use it. Freed as {@link #allocHost}'s.
     */
    Pointer allocHostMapped(long bytes) {
        Pointer p = new Pointer();
        cuMemHostAlloc(p, Math.max(bytes, 16), CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_PORTABLE);
        hostAllocations.add(p);
        return p;
    }

    /** The address kernels use for host memory from {@link #allocHostMapped}. */
    CUdeviceptr mappedDevicePointer(Pointer host) {
        CUdeviceptr d = new CUdeviceptr();
        cuMemHostGetDevicePointer(d, host, 0);
        return d;
    }

    /** Frees page-locked host memory from {@link #allocHost} before {@link #close()} (a staging buffer that grew). */
    void freeHost(Pointer p) {
        if (hostAllocations.remove(p)) {
            cuMemFreeHost(p);
        }
    }

    long[] memInfo() {
        long[] free = new long[1], total = new long[1];
        cuMemGetInfo(free, total);
        return new long[]{free[0], total[0]};
    }

    int attribute(int attr) {
        int[] v = new int[1];
        cuDeviceGetAttribute(v, attr, device);
        return v[0];
    }

    /**
     * Launches {@code f} on the stream. Arguments: CUdeviceptr (null allowed: a NULL pointer), Integer, Long
     * (a 64-bit integer), Float.
     */
    void launch(String f, int gx, int gy, int block, Object... args) {
        launchShared(f, gx, gy, 1, block, 0, args);
    }

    void launch3(String f, int gx, int gy, int gz, int block, Object... args) {
        launchShared(f, gx, gy, gz, block, 0, args);
    }

    /** As {@link #launch3} with {@code sharedBytes} of dynamic shared memory per block. */
    void launchShared(String f, int gx, int gy, int gz, int block, int sharedBytes, Object... args) {
        if (profiled != null) {
            CUevent e0 = new CUevent(), e1 = new CUevent();
            cuEventCreate(e0, 0);
            cuEventCreate(e1, 0);
            cuEventRecord(e0, stream);
            enqueue(f, gx, gy, gz, block, sharedBytes, args);
            cuEventRecord(e1, stream);
            profiled.add(new Object[]{f, e0, e1});
        } else {
            enqueue(f, gx, gy, gz, block, sharedBytes, args);
        }
    }

    /** One launch on the stream through JCuda's cuLaunchKernel. */
    private void enqueue(String f, int gx, int gy, int gz, int block, int sharedBytes, Object[] args) {
        Pointer[] ps = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            if (a == null) {
                ps[i] = Pointer.to(new CUdeviceptr());
            } else if (a instanceof CUdeviceptr d) {
                ps[i] = Pointer.to(d);
            } else if (a instanceof Integer v) {
                ps[i] = Pointer.to(new int[]{v});
            } else if (a instanceof Long v) {
                ps[i] = Pointer.to(new long[]{v});
            } else if (a instanceof Float v) {
                ps[i] = Pointer.to(new float[]{v});
            } else {
                throw new IllegalArgumentException("kernel argument of type " + a.getClass());
            }
        }
        cuLaunchKernel(fn(f), gx, gy, gz, block, 1, 1, sharedBytes, stream, Pointer.to(ps), null);
    }

    void startProfile() {
        profiled = new ArrayList<>();
    }

    /** Per kernel name: {total ms, launches}, in first-launch order. */
    Map<String, double[]> endProfile() {
        sync();
        Map<String, double[]> out = new java.util.LinkedHashMap<>();
        float[] ms = new float[1];
        for (Object[] p : profiled) {
            cuEventElapsedTime(ms, (CUevent) p[1], (CUevent) p[2]);
            double[] acc = out.computeIfAbsent((String) p[0], k -> new double[2]);
            acc[0] += ms[0];
            acc[1]++;
            cuEventDestroy((CUevent) p[1]);
            cuEventDestroy((CUevent) p[2]);
        }
        profiled = null;
        return out;
    }

    void sync() {
        cuStreamSynchronize(stream);
    }

    @Override
    public void close() {
        cuCtxSetCurrent(context);
        cuCtxSynchronize();
        for (CUdeviceptr p : allocations) {
            cuMemFree(p);
        }
        allocations.clear();
        for (Pointer p : hostAllocations) {
            cuMemFreeHost(p);
        }
        hostAllocations.clear();
        cuStreamDestroy(stream);
        cuModuleUnload(module);
        if (gemmModule != null) {
            cuModuleUnload(gemmModule);
        }
        cuDevicePrimaryCtxRelease(device);
    }

    /** Device-to-device copy of 1 GiB, bytes read + written over time (median of 5); the 2 GiB it borrows are
     *  freed before it returns. */
    public double copyBandwidthGBs() {
        long n = 1L << 30;
        CUdeviceptr a = new CUdeviceptr(), b = new CUdeviceptr();
        cuMemAlloc(a, n);
        cuMemAlloc(b, n);
        CUevent e0 = new CUevent(), e1 = new CUevent();
        cuEventCreate(e0, 0);
        cuEventCreate(e1, 0);
        cuMemsetD32Async(a, 0x3f800000, n / 4, stream);
        double[] gbs = new double[5];
        for (int i = 0; i < 6; i++) {
            cuEventRecord(e0, stream);
            cuMemcpyDtoDAsync(b, a, n, stream);
            cuEventRecord(e1, stream);
            cuEventSynchronize(e1);
            float[] ms = new float[1];
            cuEventElapsedTime(ms, e0, e1);
            if (i > 0) {
                gbs[i - 1] = 2.0 * n / (ms[0] / 1e3) / 1e9;
            }
        }
        cuEventDestroy(e0);
        cuEventDestroy(e1);
        cuMemFree(a);
        cuMemFree(b);
        Arrays.sort(gbs);
        return gbs[2];
    }
}
