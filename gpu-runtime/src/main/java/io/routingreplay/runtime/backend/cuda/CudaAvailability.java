package io.routingreplay.runtime.backend.cuda;

import jcuda.driver.JCudaDriver;

/** Whether this process can run the CUDA backend: the PTX is in the jar, the driver loads, a device exists. */
public final class CudaAvailability {
    private CudaAvailability() {
    }

    /** @return null when usable, else why not (in words) */
    public static String reason() {
        if (CudaAvailability.class.getResource(CudaDevice.PTX_RESOURCE) == null) {
            return "kernels.ptx missing (built without nvcc)";
        }
        try {
            JCudaDriver.setExceptionsEnabled(true);
            JCudaDriver.cuInit(0);
            int[] n = new int[1];
            JCudaDriver.cuDeviceGetCount(n);
            return n[0] > 0 ? null : "no CUDA device";
        } catch (Throwable t) {
            return t.getClass().getSimpleName() + ": " + t.getMessage();
        }
    }
}
