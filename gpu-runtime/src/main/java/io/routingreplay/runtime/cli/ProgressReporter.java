package io.routingreplay.runtime.cli;

import io.routingreplay.runtime.engine.EngineStats;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Prints a progress line on stderr at most every {@code intervalNanos}: requests finished of the total, tokens per
 * second (prompt tokens prefilled plus tokens generated) since the previous line, and the scheduler's queues and
 * preemptions (a sign that the K/V cache is the limit) with the blocks swapped to host and back, and the prefix cache's hit rate (positions known at
 * admission served from the cache).
 */
final class ProgressReporter {
    private final PrintStream err;
    private final long intervalNanos;
    private final int total;
    private final long startNanos;
    private long lastNanos;
    private long lastTokens;

    ProgressReporter(PrintStream err, long intervalNanos, int total) {
        this.err = err;
        this.intervalNanos = intervalNanos;
        this.total = total;
        this.startNanos = System.nanoTime();
        this.lastNanos = startNanos;
    }

    /** Called after every engine step; prints only when the interval has passed. */
    void maybeReport(int done, EngineStats stats) {
        long now = System.nanoTime();
        if (now - lastNanos < intervalNanos) {
            return;
        }
        long tokens = stats.prefillTokens() + stats.decodeTokens();
        double rate = (tokens - lastTokens) / ((now - lastNanos) / 1e9);
        err.printf(Locale.ROOT, "progress: %d/%d requests done, %.1f tokens/s (%d running, %d waiting, %d preempted so far,"
                        + " %s, prefix cache %s)%n",
                done, total, rate, stats.running(), stats.waiting(), stats.preemptions(), swapped(stats),
                prefixCache(stats));
        lastNanos = now;
        lastTokens = tokens;
    }

    /** The closing summary line; returns the seconds since this reporter started. */
    double finish(int done, int rejected, EngineStats stats) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        err.printf(Locale.ROOT, "done: %d requests generated, %d rejected; %d prompt + %d generated tokens in %.1f s"
                        + " (%.1f tokens/s); %d preemptions for K/V space, %s, %d positions recomputed; prefix cache"
                        + " %s%n",
                done, rejected, stats.prefillTokens(), stats.decodeTokens(), seconds,
                (stats.prefillTokens() + stats.decodeTokens()) / Math.max(seconds, 1e-9), stats.preemptions(),
                swapped(stats), stats.recomputedPositions(), prefixCache(stats));
        return seconds;
    }

    /** "O blocks swapped out / I in": preempted K/V copied to the host swap space, and copied back instead of
     *  being computed again. */
    static String swapped(EngineStats stats) {
        return String.format(Locale.ROOT, "%d blocks swapped out / %d in", stats.swappedOutBlocks(),
                stats.swappedInBlocks());
    }

    /**
     * "H hit / M missed positions (R %)": positions known at admission served from / not in the prefix cache; then,
     * when any are kept, the host memory of the prompt-end logits rows kept with cached blocks.
     */
    static String prefixCache(EngineStats stats) {
        long hits = stats.prefixCacheHits();
        long all = hits + stats.prefixCacheMisses();
        String s = String.format(Locale.ROOT, "%d hit / %d missed positions (%.1f %%)", hits,
                stats.prefixCacheMisses(), all == 0 ? 0.0 : 100.0 * hits / all);
        if (stats.promptEndLogitsBytes() > 0) {
            s += String.format(Locale.ROOT, ", %.1f MiB of prompt-end logits kept",
                    stats.promptEndLogitsBytes() / (1024.0 * 1024.0));
        }
        return s;
    }
}
