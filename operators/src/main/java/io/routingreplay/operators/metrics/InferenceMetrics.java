package io.routingreplay.operators.metrics;

import io.routingreplay.runtime.engine.EngineStats;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

import java.util.concurrent.atomic.AtomicInteger;

import static io.routingreplay.operators.metrics.MetricNames.*;

/**
 * The inference operator's metrics: token and routing throughput, batch occupancy, K/V-cache use, queue depth,
 * requests in flight, per-request latency, and the prefix cache (positions served from it or computed at
 * admission, positions recomputed after a preemption) and the swap space (blocks of preempted requests copied to
 * host memory and back). (Dead letters are counted once for the whole job by
 * {@link DeadLetterCounter} in front of the dead-letter sink.)
 *
 * <p>The engine reports cumulative counters ({@link EngineStats}); {@link #onStep} turns them into counter
 * increments (so the meters see rates) and keeps the latest snapshot for the gauges. Update methods are meant for
 * one thread at a time (the operator's mailbox thread); gauges are read by the reporter thread from a volatile
 * snapshot.
 */
public final class InferenceMetrics {

    /** Latency samples kept for the percentiles: the last this many finished requests. */
    public static final int LATENCY_SAMPLES = 2048;

    private final Counter prefillTokens;
    private final Counter decodeTokens;
    private final Counter routingBytes;
    private final Counter steps;
    private final Counter preemptions;
    private final Counter engineFailures;
    private final Counter recomputedPositions;
    private final Counter swappedOutBlocks;
    private final Counter swappedInBlocks;
    private final Counter prefixCacheHits;
    private final Counter prefixCacheMisses;
    private final Counter requestsFinished;
    private final Histogram requestLatencyMs;
    private final AtomicInteger inFlight = new AtomicInteger();

    /** Latest engine snapshot; null until the first step. Read by the gauges. */
    private volatile EngineStats latest;

    /** Registers every metric under {@code operatorGroup.addGroup("routing_replay")}. */
    public InferenceMetrics(MetricGroup operatorGroup) {
        MetricGroup g = operatorGroup.addGroup(GROUP);
        prefillTokens = g.counter(PREFILL_TOKENS);
        g.meter(PREFILL_TOKENS_PER_SECOND, new MeterView(prefillTokens));
        decodeTokens = g.counter(DECODE_TOKENS);
        g.meter(DECODE_TOKENS_PER_SECOND, new MeterView(decodeTokens));
        routingBytes = g.counter(ROUTING_BYTES);
        g.meter(ROUTING_BYTES_PER_SECOND, new MeterView(routingBytes));
        steps = g.counter(ENGINE_STEPS);
        g.meter(ENGINE_STEPS_PER_SECOND, new MeterView(steps));
        preemptions = g.counter(PREEMPTIONS);
        engineFailures = g.counter(ENGINE_FAILURES);
        recomputedPositions = g.counter(RECOMPUTED_POSITIONS);
        swappedOutBlocks = g.counter(SWAPPED_OUT_BLOCKS);
        swappedInBlocks = g.counter(SWAPPED_IN_BLOCKS);
        prefixCacheHits = g.counter(PREFIX_CACHE_HITS);
        prefixCacheMisses = g.counter(PREFIX_CACHE_MISSES);
        g.gauge(BATCH_SIZE, (Gauge<Integer>) () -> latest == null ? 0 : latest.lastBatchSize());
        g.gauge(BATCH_OCCUPANCY, (Gauge<Double>) () -> fraction(
                latest == null ? 0 : latest.lastBatchSize(), latest == null ? 0 : latest.maxNumSeqs()));
        g.gauge(KV_CACHE_USAGE, (Gauge<Double>) () -> fraction(
                latest == null ? 0 : latest.kvBlocksUsed(), latest == null ? 0 : latest.kvBlocksTotal()));
        g.gauge(QUEUE_DEPTH, (Gauge<Integer>) () -> latest == null ? 0 : latest.waiting());
        g.gauge(REQUESTS_RUNNING, (Gauge<Integer>) () -> latest == null ? 0 : latest.running());
        g.gauge(REQUESTS_IN_FLIGHT, (Gauge<Integer>) inFlight::get);
        requestsFinished = g.counter(REQUESTS_FINISHED);
        requestLatencyMs = g.histogram(REQUEST_LATENCY_MS, new DescriptiveStatisticsHistogram(LATENCY_SAMPLES));
    }

    /**
     * After each engine step (or periodically): adds what the engine's cumulative counters grew by and keeps the
     * snapshot for the gauges. A snapshot whose counters went down comes from a new engine (after a restore), whose
     * counters started again at zero; its values count whole.
     */
    public void onStep(EngineStats now) {
        EngineStats before = latest;
        prefillTokens.inc(growth(before == null ? 0 : before.prefillTokens(), now.prefillTokens()));
        decodeTokens.inc(growth(before == null ? 0 : before.decodeTokens(), now.decodeTokens()));
        routingBytes.inc(growth(before == null ? 0 : before.routingBytes(), now.routingBytes()));
        steps.inc(growth(before == null ? 0 : before.steps(), now.steps()));
        preemptions.inc(growth(before == null ? 0 : before.preemptions(), now.preemptions()));
        recomputedPositions.inc(growth(before == null ? 0 : before.recomputedPositions(), now.recomputedPositions()));
        swappedOutBlocks.inc(growth(before == null ? 0 : before.swappedOutBlocks(), now.swappedOutBlocks()));
        swappedInBlocks.inc(growth(before == null ? 0 : before.swappedInBlocks(), now.swappedInBlocks()));
        prefixCacheHits.inc(growth(before == null ? 0 : before.prefixCacheHits(), now.prefixCacheHits()));
        prefixCacheMisses.inc(growth(before == null ? 0 : before.prefixCacheMisses(), now.prefixCacheMisses()));
        latest = now;
    }

    /** The engine failed a step, or could not be made (each attempt counts). */
    public void onEngineFailure() {
        engineFailures.inc();
    }

    /** A request was accepted by the operator (new, or restored from a checkpoint). */
    public void onRequestAdmitted() {
        inFlight.incrementAndGet();
    }

    /** A request produced its final event, {@code latencyMs} after the operator accepted it. */
    public void onRequestFinished(long latencyMs) {
        inFlight.decrementAndGet();
        requestsFinished.inc();
        requestLatencyMs.update(Math.max(0, latencyMs));
    }

    /** An accepted request left without a result (the engine rejected or aborted it). */
    public void onRequestDropped() {
        inFlight.decrementAndGet();
    }

    private static long growth(long before, long now) {
        return now >= before ? now - before : now;
    }

    private static double fraction(int part, int whole) {
        return whole <= 0 ? 0.0 : (double) part / whole;
    }
}
