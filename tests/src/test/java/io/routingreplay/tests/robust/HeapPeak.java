package io.routingreplay.tests.robust;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;

/**
 * The most heap the JVM held during a run: each heap pool's peak (the JVM tracks it between resets) summed, and the
 * largest total seen by a sampler thread (used after GC counts too). Both are upper bounds on what the run needed.
 */
final class HeapPeak implements AutoCloseable {

    private final Thread sampler;
    private volatile boolean running = true;
    private volatile long maxUsed;

    HeapPeak() {
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                pool.resetPeakUsage();
            }
        }
        sampler = new Thread(() -> {
            while (running) {
                maxUsed = Math.max(maxUsed, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "heap-peak-sampler");
        sampler.setDaemon(true);
        sampler.start();
    }

    /** Largest heap in use seen by the sampler, in bytes. */
    long sampledPeakBytes() {
        return maxUsed;
    }

    /** Sum of the heap pools' peaks since the start, in bytes (pools peak at different times: an upper bound). */
    long poolPeakBytes() {
        long sum = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                sum += pool.getPeakUsage().getUsed();
            }
        }
        return sum;
    }

    static long maxHeapBytes() {
        return Runtime.getRuntime().maxMemory();
    }

    @Override
    public void close() {
        running = false;
        sampler.interrupt();
    }
}
