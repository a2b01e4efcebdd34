package io.routingreplay.runtime.backend;

/**
 * Host memory of a backend that whole K/V blocks are copied to and from, so that a preempted request's computed
 * positions come back instead of being computed again (vLLM's swap space). It has {@link #numSlots()} slots of one
 * block each (every layer's keys and values of {@code kvBlockSize} positions); the engine decides which slot holds
 * what, the backend only copies. Opened by {@link ModelRunner#openKvSwapSpace}.
 */
public interface KvSwapSpace extends AutoCloseable {

    int numSlots();

    /**
     * One step's copies, issued before that step's {@link ModelRunner#forward}: first every device block
     * {@code outBlocks[i]} into host slot {@code outSlots[i]}, then every host slot {@code inSlots[i]} into device
     * block {@code inBlocks[i]} (a block preempted and re-admitted in the same step is copied out before it comes
     * back). They complete before the next forward reads or writes the cache (the CPU copies at once; the GPU on the
     * step's stream, ahead of the step's kernels). The copied bytes are the cache's own: a block copied back holds
     * exactly what it held, so what is computed from it is what the unpreempted run computes.
     */
    void copy(int[] outBlocks, int[] outSlots, int[] inSlots, int[] inBlocks);

    @Override
    void close();
}
