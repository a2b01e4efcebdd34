package io.routingreplay.runtime.engine;

/**
 * Cumulative counters and current gauges of one engine, read by metrics.
 *
 * @param prefillTokens  prompt (and recomputed) tokens fed so far
 * @param decodeTokens   output tokens sampled so far
 * @param steps          forward steps run
 * @param lastBatchSize  sequences in the last step
 * @param maxNumSeqs     the configured limit, for occupancy = lastBatchSize / maxNumSeqs
 * @param kvBlocksUsed   K/V blocks in use now
 * @param kvBlocksTotal  K/V blocks in the cache
 * @param waiting        requests queued, not yet admitted
 * @param running        requests admitted and unfinished
 * @param routingBytes   packed routing bytes emitted so far
 * @param preemptions    sequences preempted for K/V space so far
 * @param recomputedPositions positions computed again because a preemption dropped their K/V
 */
public record EngineStats(long prefillTokens, long decodeTokens, long steps, int lastBatchSize, int maxNumSeqs,
                          int kvBlocksUsed, int kvBlocksTotal, int waiting, int running, long routingBytes,
                          long preemptions, long recomputedPositions) {
}
