package io.routingreplay.runtime.parallel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;

/**
 * Collectives between ranks that are threads of one JVM (the CPU reference of a multi-GPU engine): an all-gather
 * posts each rank's array in its slot, waits on a barrier for the others, copies every slot and waits again. {@link #abort} breaks the barrier, so
 * when one rank fails the others stop waiting instead of hanging.
 */
public final class InProcessCollectives implements Collectives {
    private final Group group;
    private final int rank;

    private static final class Group {
        final float[][] slots;
        final CyclicBarrier barrier;

        Group(int size) {
            slots = new float[size][];
            barrier = new CyclicBarrier(size);
        }
    }

    private InProcessCollectives(Group group, int rank) {
        this.group = group;
        this.rank = rank;
    }

    /** The communicators of {@code size} ranks, index = rank; each is used by exactly one thread. */
    public static List<InProcessCollectives> group(int size) {
        Group g = new Group(size);
        List<InProcessCollectives> out = new ArrayList<>();
        for (int r = 0; r < size; r++) {
            out.add(new InProcessCollectives(g, r));
        }
        return out;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return group.slots.length;
    }

    @Override
    public float[][] allGather(float[] mine) {
        group.slots[rank] = mine;
        await();                                   // every slot is posted
        float[][] all = new float[group.slots.length][];
        for (int r = 0; r < all.length; r++) {     // copies, as NCCL's receive buffer: each rank owns its result
            all[r] = group.slots[r].clone();
        }
        await();                                   // every rank has copied before anyone changes or reposts a slot
        return all;
    }

    private void await() {
        try {
            group.barrier.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("rank " + rank + " interrupted in a collective", e);
        } catch (BrokenBarrierException e) {
            throw new IllegalStateException("rank " + rank + ": another rank failed during a collective", e);
        }
    }

    /** Releases every rank waiting in a collective (they fail) after one rank failed; the group is then reusable. */
    public void abort() {
        group.barrier.reset();
    }
}
