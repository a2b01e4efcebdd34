package io.routingreplay.runtime.engine;

/**
 * What one engine step produced for one request: the routing of the tokens it fed through the model (positions
 * {@code [firstPosition, firstPosition + numRoutedTokens)}), and, when the step ended the prompt or a decode,
 * the next sampled token with its logprob. {@code finishReason} is non-null on the request's last event.
 *
 * @param routingIds    packed ids [numRoutedTokens][moe_layer][k] in the model's {@link
 *                      io.routingreplay.runtime.routing.RoutingLayout} dtype
 * @param routingWeights combine weights in the same order, or null unless the request asked for them
 * @param sampledToken  the new output token, or -1 for a prefill chunk that sampled nothing
 * @param outputIndex   index of {@code sampledToken} in the output (0 for the first), or -1
 * @param replay        on the last event of a request with {@code forced_routing} or {@code prompt_logprobs}: what
 *                      they produced; null otherwise
 * @param cachedPositions on the last event: how many of the positions the request had when it was first admitted
 *                      (its prompt) were served from the prefix cache instead of computed; 0 on other events
 */
public record StepEvent(String rid, int firstPosition, int numRoutedTokens, byte[] routingIds,
                        float[] routingWeights, int sampledToken, float logprob, int outputIndex,
                        FinishReason finishReason, ReplayReport replay, int cachedPositions) {

    /** An event with no replay report. */
    public StepEvent(String rid, int firstPosition, int numRoutedTokens, byte[] routingIds, float[] routingWeights,
                     int sampledToken, float logprob, int outputIndex, FinishReason finishReason) {
        this(rid, firstPosition, numRoutedTokens, routingIds, routingWeights, sampledToken, logprob, outputIndex,
                finishReason, null, 0);
    }

    public boolean isFinal() {
        return finishReason != null;
    }
}
