package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingRecord;
import io.routingreplay.runtime.routing.RoutingSelection;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * Collects one request's {@link StepEvent}s (in order) into its {@link GenerationResult}. Routing of positions the
 * request does not return ({@link RoutingSelection}: before its {@code routing_start}, or all with
 * {@code return_routing} false) is dropped as it arrives, so it never takes memory here.
 */
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
    private ReplayReport replay;

    public ResultBuilder(GenerationRequest request, RoutingLayout layout) {
        this.request = request;
        this.layout = layout;
    }

    public void accept(StepEvent e) {
        if (e.firstPosition() != numRouted) {
            throw new IllegalStateException("rid " + e.rid() + ": routing event starts at position "
                    + e.firstPosition() + ", expected " + numRouted);
        }
        RoutingSelection selection = request.routing();
        // Positions [first, end) of this event; the record keeps [max(first, start), end) when it keeps any.
        int skip = selection.returned()
                ? Math.min(e.numRoutedTokens(), Math.max(0, selection.start() - e.firstPosition()))
                : e.numRoutedTokens();
        int kept = e.numRoutedTokens() - skip;
        if (kept > 0) {
            ids.write(e.routingIds(), skip * layout.bytesPerToken(), kept * layout.bytesPerToken());
            if (e.routingWeights() != null) {
                int from = skip * layout.idsPerToken();
                int n = kept * layout.idsPerToken();
                if (numWeights + n > weights.length) {
                    weights = Arrays.copyOf(weights, Math.max(weights.length * 2, numWeights + n));
                }
                System.arraycopy(e.routingWeights(), from, weights, numWeights, n);
                numWeights += n;
            }
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
            replay = e.replay();
        }
    }

    public boolean isComplete() {
        return finishReason != null;
    }

    public GenerationResult build() {
        if (finishReason == null) {
            throw new IllegalStateException("rid " + request.rid() + " has not finished");
        }
        RoutingSelection selection = request.routing();
        RoutingRecord routing = null;
        if (selection.returned()) {
            // The start was checked against the prompt at admission, and every prompt position is routed.
            int first = Math.min(selection.start(), numRouted);
            routing = new RoutingRecord(layout, first, numRouted - first, ids.toByteArray(),
                    request.params().returnRoutingWeights() ? Arrays.copyOf(weights, numWeights) : null);
        }
        return new GenerationResult(request.rid(), request.promptTokenIds(),
                Arrays.copyOf(outputs, numOutputs), Arrays.copyOf(logprobs, numOutputs),
                finishReason, routing, replay);
    }
}
