package io.routingreplay.runtime.scheduler;

import java.util.Arrays;
import java.util.Locale;

/**
 * When the scheduler lets a waiting request start, given the K/V blocks it and the running requests may need.
 * Both policies are TensorRT-LLM's capacity-scheduler choices; neither changes a record (batch invariance).
 */
public enum AdmissionPolicy {
    /**
     * Admit while the blocks of the tokens a request already has are free; when a running request cannot grow, the
     * newest one is preempted (vLLM's default, TensorRT-LLM's {@code MAX_UTILIZATION}). Most requests at once, but
     * long generations that outgrow the cache are preempted and (what the prefix cache lost) recomputed. The
     * default: the most at once finished the RL workloads first on the GPU (docs/benchmarks.md), and it adapts to
     * outputs that stop early at EOS.
     */
    EAGER,
    /**
     * Admit only when the blocks this request may ever need (prompt + max_new_tokens) fit beside the blocks every
     * running request may still grow into (TensorRT-LLM's {@code GUARANTEED_NO_EVICT}). A running request is then
     * never preempted and nothing is recomputed; fewer run at once while long ones fill the cache, and a request
     * that stops early at EOS held blocks it never used.
     */
    RESERVE;

    /** Parses "eager" or "reserve" (any case); the message lists the accepted values. */
    public static AdmissionPolicy parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("admission policy must be one of "
                    + Arrays.stream(values()).map(AdmissionPolicy::label).toList() + ", got '" + s + "'");
        }
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
