package io.routingreplay.runtime.roofline;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.backend.StepOutput;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.engine.StepObserver;

import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Sums, over the steps a run actually scheduled, the bytes each had to move ({@link StepBytes}): over the device's
 * measured copy bandwidth that is the least time any implementation could take for the same schedule. It also keeps
 * the forward calls' wall time apart for decode steps (every chunk one token) and steps with prompt tokens, each
 * beside its own share of the bound, so a run's distance from the bound splits into the two kinds of step and the
 * time spent outside the forward calls (scheduling, swaps, turning outputs into results, writing them).
 *
 * <p>The counting runs on a thread of its own, in step order: the engine thread only hands each step over, so the
 * measurement does not add to the time it measures. A step's batch and output are never changed after its forward
 * call. The getters wait for the steps handed over so far.
 */
public final class LowerBoundMeter implements StepObserver {
    private final ModelConfig model;
    private final int kvElementBytes;
    private final double bandwidthGBs;
    private double weightBytes, kvBytes;
    private long steps;
    /** Per kind of step, [decode, with prompt tokens]: steps, forward nanoseconds, bound bytes. */
    private final long[] kindSteps = new long[2], kindNanos = new long[2];
    private final double[] kindBytes = new double[2];
    private final ExecutorService counter = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "lower-bound-meter");
        t.setDaemon(true);
        return t;
    });
    /** The last step handed to {@link #counter} (steps run in order: when it is done, all are). */
    private Future<?> lastStep;

    public LowerBoundMeter(ModelConfig model, int kvElementBytes, double bandwidthGBs) {
        this.model = model;
        this.kvElementBytes = kvElementBytes;
        this.bandwidthGBs = bandwidthGBs;
    }

    @Override
    public void onStep(ForwardBatch batch, StepOutput out, long forwardNanos) {
        lastStep = counter.submit(() -> count(batch, out, forwardNanos));
    }

    private void count(ForwardBatch batch, StepOutput out, long forwardNanos) {
        StepBytes b = StepBytes.of(model, kvElementBytes, batch, out);
        weightBytes += b.weightBytes();
        kvBytes += b.kvBytes();
        steps++;
        int kind = isDecode(batch) ? 0 : 1;
        kindSteps[kind]++;
        kindNanos[kind] += forwardNanos;
        kindBytes[kind] += b.weightBytes() + b.kvBytes();
    }

    /** Every chunk feeds one token (a chunk of none, sampling from a kept row, counts as decode too). */
    static boolean isDecode(ForwardBatch batch) {
        for (SeqChunk c : batch.chunks()) {
            if (c.tokens().length > 1) {
                return false;
            }
        }
        return true;
    }

    /** Waits for the steps handed over so far to be counted. */
    private void settle() {
        if (lastStep == null) {
            return;
        }
        try {
            lastStep.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the lower-bound meter counted its steps", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("the lower-bound meter failed to count a step", e.getCause());
        }
    }

    public double seconds() {
        settle();
        return (weightBytes + kvBytes) / (bandwidthGBs * 1e9);
    }

    /** The forward calls' wall time of decode steps (kind 0) or of steps with prompt tokens (kind 1), in seconds. */
    double forwardSeconds(int kind) {
        settle();
        return kindNanos[kind] / 1e9;
    }

    /** The bound's share of decode steps (kind 0) or of steps with prompt tokens (kind 1), in seconds. */
    double boundSeconds(int kind) {
        settle();
        return kindBytes[kind] / (bandwidthGBs * 1e9);
    }

    /** The bound, what it is made of, and measured ÷ bound; then where the measured time went. */
    public String summary(double measuredSeconds) {
        settle();
        double outside = measuredSeconds - forwardSeconds(0) - forwardSeconds(1);
        return String.format(Locale.ROOT, "lower bound: %.2f s over %d steps (%.1f GB of weights + %.1f GB of K/V at "
                        + "%.0f GB/s measured copy bandwidth); measured %.2f s = %.2fx the bound%n"
                        + "  where it went: %s; %s; outside the forward calls (scheduling, swaps, results) %.2f s",
                seconds(), steps, weightBytes / 1e9, kvBytes / 1e9, bandwidthGBs, measuredSeconds,
                measuredSeconds / seconds(), kind(0, "decode steps"), kind(1, "steps with prompt tokens"), outside);
    }

    private String kind(int k, String name) {
        double f = forwardSeconds(k), b = boundSeconds(k);
        return String.format(Locale.ROOT, "%d %s %.2f s (%.2f ms each) = %s their bound %.2f s", kindSteps[k], name, f,
                kindSteps[k] == 0 ? 0.0 : 1e3 * f / kindSteps[k], b > 0 ? String.format(Locale.ROOT, "%.2fx", f / b)
                        : "-", b);
    }
}
