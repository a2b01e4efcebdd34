package io.routingreplay.operators.metrics;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

import static io.routingreplay.operators.metrics.MetricNames.*;

/**
 * The micro-batch window's metrics: how many batches left full and how many on the timer, and their sizes. Many
 * timer flushes of small batches mean the wait is what paces the job, not the batch size.
 */
public final class MicroBatchMetrics {

    public static final int SIZE_SAMPLES = 1024;

    private final Counter full;
    private final Counter timedOut;
    private final Histogram size;

    public MicroBatchMetrics(MetricGroup operatorGroup) {
        MetricGroup g = operatorGroup.addGroup(GROUP);
        full = g.counter(MICRO_BATCHES_FULL);
        timedOut = g.counter(MICRO_BATCHES_TIMED_OUT);
        size = g.histogram(MICRO_BATCH_SIZE, new DescriptiveStatisticsHistogram(SIZE_SAMPLES));
    }

    /** A batch of {@code prompts} left the window, because it reached the size limit or because its timer fired. */
    public void onFlush(int prompts, boolean reachedSizeLimit) {
        (reachedSizeLimit ? full : timedOut).inc();
        size.update(prompts);
    }
}
