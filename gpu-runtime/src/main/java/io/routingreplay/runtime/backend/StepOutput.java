package io.routingreplay.runtime.backend;

/**
 * What a forward step returns, indexed like {@link ForwardBatch#chunks()}.
 *
 * @param sampledTokens  per chunk: the sampled token, or -1 when the chunk did not sample
 * @param logprobs       per chunk: log-softmax of the raw logits at the sampled token (temperature-independent)
 * @param routingIds     per chunk: int[chunkLen * numMoeLayers * topK], expert ids in [token][moe_layer][k]
 *                       order, sorted by router probability descending
 * @param routingWeights per chunk: combine weights in the same order (as the MoE block uses them)
 */
public record StepOutput(int[] sampledTokens, float[] logprobs, int[][] routingIds, float[][] routingWeights) {
}
