// JNI shim for PdlLauncher (issue 14): cuLaunchKernelEx with CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION,
// which JCuda 12.6 does not expose. Programmatic dependent launch lets a kernel start while the kernel before it on
// the stream drains (kernels/pdl.cuh says what the kernels do about it); inside stream capture the launch becomes a
// programmatic edge of the graph.
//
// No link-time dependency on the driver: libcuda.so.1 (already loaded by JCuda in the same process, so dlopen
// returns that handle and the same contexts) is opened and cuLaunchKernelEx looked up at the first launch. Only
// cuda.h's types are used. dlopen / dlsym are bound to their oldest symbol versions so that the library loads on any
// glibc the bundled Java runs on.
#include <jni.h>
#include <dlfcn.h>
#include <string.h>
#include <cuda.h>

__asm__(".symver dlopen,dlopen@GLIBC_2.2.5");
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");

// Codes below CUresult's range (PdlLauncher turns them into messages)
#define PDL_NO_LIBCUDA (-1)      // dlopen("libcuda.so.1") failed
#define PDL_NO_LAUNCH_EX (-2)    // the driver has no cuLaunchKernelEx (older than CUDA 12.0)
#define PDL_BAD_PARAMS (-3)      // params not a direct buffer, too small, or more than PDL_MAX_PARAMS arguments
#define PDL_MAX_PARAMS 64

typedef CUresult (*LaunchKernelEx)(const CUlaunchConfig*, CUfunction, void**, void**);
static LaunchKernelEx launchKernelEx;
static int resolved; // 0: not tried; 1: found; PDL_NO_LIBCUDA / PDL_NO_LAUNCH_EX

static int resolve(void) {
    if (resolved == 0) {
        void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
        if (lib == NULL) {
            resolved = PDL_NO_LIBCUDA;
        } else {
            launchKernelEx = (LaunchKernelEx)dlsym(lib, "cuLaunchKernelEx");
            resolved = launchKernelEx != NULL ? 1 : PDL_NO_LAUNCH_EX;
        }
    }
    return resolved;
}

// params: a direct buffer of numParams 8-byte slots, one per kernel argument in order (PdlLauncher.pack); the
// driver reads each argument's size from the kernel's signature, starting at its slot.
JNIEXPORT jint JNICALL Java_io_routingreplay_runtime_backend_cuda_PdlLauncher_launch(
        JNIEnv* env, jclass cls, jlong function, jint gx, jint gy, jint gz, jint bx, jint sharedBytes, jlong stream,
        jobject params, jint numParams, jboolean programmatic) {
    (void)cls;
    unsigned char* base = (unsigned char*)(*env)->GetDirectBufferAddress(env, params);
    if (base == NULL || numParams < 0 || numParams > PDL_MAX_PARAMS
            || (*env)->GetDirectBufferCapacity(env, params) < 8 * (jlong)numParams) {
        return PDL_BAD_PARAMS;
    }
    int r = resolve();
    if (r != 1) {
        return r;
    }
    void* kp[PDL_MAX_PARAMS + 1];
    for (int i = 0; i < numParams; i++) {
        kp[i] = base + 8 * i;
    }
    CUlaunchAttribute attr;
    memset(&attr, 0, sizeof attr);
    attr.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attr.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.gridDimX = (unsigned)gx;
    cfg.gridDimY = (unsigned)gy;
    cfg.gridDimZ = (unsigned)gz;
    cfg.blockDimX = (unsigned)bx;
    cfg.blockDimY = 1;
    cfg.blockDimZ = 1;
    cfg.sharedMemBytes = (unsigned)sharedBytes;
    cfg.hStream = (CUstream)(uintptr_t)stream;
    cfg.attrs = programmatic ? &attr : NULL;
    cfg.numAttrs = programmatic ? 1 : 0;
    return (jint)launchKernelEx(&cfg, (CUfunction)(uintptr_t)function, kp, NULL);
}
