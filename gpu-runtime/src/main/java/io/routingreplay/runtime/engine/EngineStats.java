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
 * @param recomputedPositions positions computed again because a preemption dropped their K/V (with the prefix
 *                       cache, a preempted request's full blocks stay cached, so few are)
 * @param prefixCacheHits   positions known at admission (the prompt; prompt + outputs for a preempted request)
 *                       served from the prefix cache instead of being computed
 * @param prefixCacheMisses positions known at admission that were computed (always 0 hits with the cache off)
 * @param promptEndLogitsBytes host bytes of the raw logits rows kept with cached blocks that ended a prompt (vocab
 *                       × 4 each; they let a request whose whole prompt is cached compute nothing)
 * @param swappedOutBlocks K/V blocks of preempted requests copied to the host swap space
 * @param swappedInBlocks  K/V blocks copied back from it at re-admission instead of being computed again
 */
public record EngineStats(long prefillTokens, long decodeTokens, long steps, int lastBatchSize, int maxNumSeqs,
                          int kvBlocksUsed, int kvBlocksTotal, int waiting, int running, long routingBytes,
                          long preemptions, long recomputedPositions, long prefixCacheHits,
                          long prefixCacheMisses, long promptEndLogitsBytes, long swappedOutBlocks,
                          long swappedInBlocks) {

    /** Stats of an engine that keeps no prompt-end logits. */
    public EngineStats(long prefillTokens, long decodeTokens, long steps, int lastBatchSize, int maxNumSeqs,
                       int kvBlocksUsed, int kvBlocksTotal, int waiting, int running, long routingBytes,
                       long preemptions, long recomputedPositions, long prefixCacheHits, long prefixCacheMisses) {
        this(prefillTokens, decodeTokens, steps, lastBatchSize, maxNumSeqs, kvBlocksUsed, kvBlocksTotal, waiting,
                running, routingBytes, preemptions, recomputedPositions, prefixCacheHits, prefixCacheMisses, 0L, 0L,
                0L);
    }
}
