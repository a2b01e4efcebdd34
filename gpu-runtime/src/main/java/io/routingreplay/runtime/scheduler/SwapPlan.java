package io.routingreplay.runtime.scheduler;

import io.routingreplay.runtime.engine.Sequence;

import java.util.ArrayList;
import java.util.List;

/**
 * The K/V block copies one {@link Scheduler#schedule()} decided, for the engine to run (through the backend's
 * swap space) before the step's forward: every copy out first, then every copy in.
 *
 * @param outs blocks of sequences preempted in this step, copied to host slots
 * @param ins  host slots copied into the blocks of sequences re-admitted in this step
 */
public record SwapPlan(List<Out> outs, List<In> ins) {

    /**
     * Block {@code block} of a preempted sequence goes to {@code slot}; {@code promptEndLogits} is the logits row
     * its cached content carried (see {@link io.routingreplay.runtime.kvcache.BlockManager#promptEndLogits}), or
     * null, read before the block could be evicted.
     */
    public record Out(int block, int slot, float[] promptEndLogits) {
    }

    /**
     * Slot {@code slot} comes back into {@code block}, block {@code index} of {@code seq}'s table; {@code full}: all
     * its positions are restored (it may be registered in the prefix cache again).
     */
    public record In(Sequence seq, int index, int slot, int block, boolean full) {
    }

    static SwapPlan empty() {
        return new SwapPlan(new ArrayList<>(), new ArrayList<>());
    }

    public boolean isEmpty() {
        return outs.isEmpty() && ins.isEmpty();
    }

    public int[] outBlocks() {
        return outs.stream().mapToInt(Out::block).toArray();
    }

    public int[] outSlots() {
        return outs.stream().mapToInt(Out::slot).toArray();
    }

    public int[] inSlots() {
        return ins.stream().mapToInt(In::slot).toArray();
    }

    public int[] inBlocks() {
        return ins.stream().mapToInt(In::block).toArray();
    }
}
