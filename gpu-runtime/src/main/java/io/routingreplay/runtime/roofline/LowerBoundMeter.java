package io.routingreplay.runtime.roofline;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.StepOutput;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.engine.StepObserver;

import java.util.Locale;

/**
 * Sums, over the steps a run actually scheduled, the bytes each had to move ({@link StepBytes}): over the device's
 * measured copy bandwidth that is the least time any implementation could take for the same schedule.
 */
public final class LowerBoundMeter implements StepObserver {
    private final ModelConfig model;
    private final int kvElementBytes;
    private final double bandwidthGBs;
    private double weightBytes, kvBytes;
    private long steps;

    public LowerBoundMeter(ModelConfig model, int kvElementBytes, double bandwidthGBs) {
        this.model = model;
        this.kvElementBytes = kvElementBytes;
        this.bandwidthGBs = bandwidthGBs;
    }

    @Override
    public void onStep(ForwardBatch batch, StepOutput out) {
        StepBytes b = StepBytes.of(model, kvElementBytes, batch, out);
        weightBytes += b.weightBytes();
        kvBytes += b.kvBytes();
        steps++;
    }

    public double seconds() {
        return (weightBytes + kvBytes) / (bandwidthGBs * 1e9);
    }

    /** One line: the bound, what it is made of, and measured ÷ bound. */
    public String summary(double measuredSeconds) {
        return String.format(Locale.ROOT, "lower bound: %.2f s over %d steps (%.1f GB of weights + %.1f GB of K/V at "
                        + "%.0f GB/s measured copy bandwidth); measured %.2f s = %.2fx the bound", seconds(), steps,
                weightBytes / 1e9, kvBytes / 1e9, bandwidthGBs, measuredSeconds, measuredSeconds / seconds());
    }
}
