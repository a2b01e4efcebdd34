package io.routingreplay.runtime.engine;

import java.util.Locale;

/**
 * Wall time the engine's thread spent in each host-side part of its steps, summed over the run (nanoseconds): where
 * the time outside the backend's forward calls goes. The GPU waits during all of it.
 *
 * @param scheduleNanos    the scheduler's plan (admission, preemption, block allocation, prefix-cache lookups)
 * @param swapNanos        issuing the swap copies of preempted blocks and restoring their routing
 * @param prepareNanos     turning the plan into the batch the backend takes (token slices, block tables)
 * @param postprocessNanos turning the step's output into events (routing records, prefix-cache registration)
 * @param observeNanos     the step observer (e.g. generate --lower-bound's meter): measurement, not serving
 */
public record HostTimes(long scheduleNanos, long swapNanos, long prepareNanos, long postprocessNanos,
                        long observeNanos) {

    /** "scheduling 1.23 s, swaps 0.45 s, batch 0.12 s, post-processing 2.34 s, observer 0.10 s". */
    public String describe() {
        return String.format(Locale.ROOT,
                "scheduling %.2f s, swaps %.2f s, batch %.2f s, post-processing %.2f s, observer %.2f s",
                scheduleNanos / 1e9, swapNanos / 1e9, prepareNanos / 1e9, postprocessNanos / 1e9, observeNanos / 1e9);
    }
}
