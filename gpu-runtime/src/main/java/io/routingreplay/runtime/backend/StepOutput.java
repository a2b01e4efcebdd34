package io.routingreplay.runtime.backend;

/**
 * What a forward step returns, indexed like {@link ForwardBatch#chunks()}.
 *
 * @param sampledTokens    per chunk: the sampled token, or -1 when the chunk did not sample
 * @param logprobs         per chunk: log-softmax of the raw logits at the sampled token (temperature-independent)
 * @param routingIds       per chunk: int[chunkLen * numMoeLayers * topK], expert ids in [token][moe_layer][k]
 *                         order, sorted by router probability descending (forced positions: the forced ids)
 * @param routingWeights   per chunk: combine weights in the same order (as the MoE block uses them)
 * @param scoreLogprobs    per chunk with {@link SeqChunk#scoreTokens()}: per position, log-softmax of the raw
 *                         logits at the asked token (NaN where none was asked); null entries elsewhere
 * @param forcedReproduced per chunk with {@link SeqChunk#forcedIds()}: per forced position and MoE layer
 *                         ({@code [position][moe_layer]}), how many of the forced ids the free router would also
 *                         have picked (k: it would have chosen the same experts); null entries elsewhere
 * @param keptLogits       per chunk with {@link SeqChunk#keepLogits()}: the raw logits row (vocab floats) it
 *                         sampled from; null entries elsewhere
 */
public record StepOutput(int[] sampledTokens, float[] logprobs, int[][] routingIds, float[][] routingWeights,
                         float[][] scoreLogprobs, byte[][] forcedReproduced, float[][] keptLogits) {

    /** A step that keeps no logits row. */
    public StepOutput(int[] sampledTokens, float[] logprobs, int[][] routingIds, float[][] routingWeights,
                      float[][] scoreLogprobs, byte[][] forcedReproduced) {
        this(sampledTokens, logprobs, routingIds, routingWeights, scoreLogprobs, forcedReproduced,
                new float[sampledTokens.length][]);
    }

    /** A step with no scoring and no forced routing. */
    public StepOutput(int[] sampledTokens, float[] logprobs, int[][] routingIds, float[][] routingWeights) {
        this(sampledTokens, logprobs, routingIds, routingWeights, new float[sampledTokens.length][],
                new byte[sampledTokens.length][]);
    }
}
