package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingRecord;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/** Collects one request's {@link StepEvent}s (in order) into its {@link GenerationResult}. */
public final class ResultBuilder {
    private final GenerationRequest request;
    private final RoutingLayout layout;
    private final ByteArrayOutputStream ids = new ByteArrayOutputStream();
    private float[] weights = new float[0];
    private int numWeights;
    private int numRouted;
    private int[] outputs = new int[16];
    private float[] logprobs = new float[16];
    private int numOutputs;
    private FinishReason finishReason;

    public ResultBuilder(GenerationRequest request, RoutingLayout layout) {
        this.request = request;
        this.layout = layout;
    }

    public void accept(StepEvent e) {
        if (e.firstPosition() != numRouted) {
            throw new IllegalStateException("rid " + e.rid() + ": routing event starts at position "
                    + e.firstPosition() + ", expected " + numRouted);
        }
        ids.writeBytes(e.routingIds());
        if (e.routingWeights() != null) {
            int n = e.routingWeights().length;
            if (numWeights + n > weights.length) {
                weights = Arrays.copyOf(weights, Math.max(weights.length * 2, numWeights + n));
            }
            System.arraycopy(e.routingWeights(), 0, weights, numWeights, n);
            numWeights += n;
        }
        numRouted += e.numRoutedTokens();
        if (e.sampledToken() >= 0) {
            if (numOutputs == outputs.length) {
                outputs = Arrays.copyOf(outputs, numOutputs * 2);
                logprobs = Arrays.copyOf(logprobs, numOutputs * 2);
            }
            outputs[numOutputs] = e.sampledToken();
            logprobs[numOutputs] = e.logprob();
            numOutputs++;
        }
        if (e.finishReason() != null) {
            finishReason = e.finishReason();
        }
    }

    public boolean isComplete() {
        return finishReason != null;
    }

    public GenerationResult build() {
        if (finishReason == null) {
            throw new IllegalStateException("rid " + request.rid() + " has not finished");
        }
        RoutingRecord routing = new RoutingRecord(layout, numRouted, ids.toByteArray(),
                request.params().returnRoutingWeights() ? Arrays.copyOf(weights, numWeights) : null);
        return new GenerationResult(request.rid(), request.promptTokenIds(),
                Arrays.copyOf(outputs, numOutputs), Arrays.copyOf(logprobs, numOutputs),
                finishReason, routing);
    }
}
