package io.routingreplay.runtime.roofline;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.backend.StepOutput;
import io.routingreplay.runtime.config.ModelConfig;

/**
 * The bytes one forward step must move through HBM at least, whatever the implementation: every bf16 weight it uses
 * read once (attention projections, router and norms of every layer; of the MoE layers only the experts its tokens
 * were routed to — distinct experts per layer, from the step's own routing; the dense MLP of dense layers; lm_head
 * when a row is sampled), and every K/V position its tokens attend over read once (a sequence's whole context, which
 * its chunk's tokens share) plus the K/V it writes. Activations are left out (they are small and may stay on chip).
 *
 * @param weightBytes bf16 weight bytes
 * @param kvBytes     K/V bytes read and written
 */
public record StepBytes(double weightBytes, double kvBytes) {
    public double total() {
        return weightBytes + kvBytes;
    }

    /** The bytes of one step of {@code batch}, whose routing {@code out} returned. */
    public static StepBytes of(ModelConfig c, int kvElementBytes, ForwardBatch batch, StepOutput out) {
        int moeLayers = c.numMoeLayers(), k = c.topK, experts = c.numExperts;
        // one sequential pass over each chunk's ids [token][moe layer][k], marking (layer, expert) pairs: it runs
        // after every step (LowerBoundMeter's counting thread), so it walks the ids in memory order, without a division
        boolean[] seen = new boolean[moeLayers * experts];
        int distinctExperts = 0;
        for (int[] ids : out.routingIds()) {
            for (int i = 0; i < ids.length; ) {
                for (int layerBase = 0; layerBase < moeLayers * experts; layerBase += experts) {
                    for (int j = 0; j < k; j++, i++) {
                        int cell = layerBase + ids[i];
                        if (!seen[cell]) {
                            seen[cell] = true;
                            distinctExperts++;
                        }
                    }
                }
            }
        }
        boolean sampled = false;
        double positionsRead = 0, positionsWritten = 0;
        for (SeqChunk ch : batch.chunks()) {
            sampled |= ch.sample();
            positionsRead += ch.startPos() + ch.length();
            positionsWritten += ch.length();
        }
        double weights = fixedWeights(c) + distinctExperts * expertBytes(c) + (sampled ? lmHeadBytes(c) : 0);
        return new StepBytes(weights, (positionsRead + positionsWritten) * kvBytesPerPosition(c, kvElementBytes));
    }

    /** A decode step of {@code batch} sequences at context {@code ctx} touching {@code expertsPerLayer} distinct
     *  experts per MoE layer (the benchmark's estimate, where no schedule exists). */
    public static StepBytes decode(ModelConfig c, int kvElementBytes, int batch, int ctx, double expertsPerLayer) {
        double weights = fixedWeights(c) + c.numMoeLayers() * expertsPerLayer * expertBytes(c) + lmHeadBytes(c);
        return new StepBytes(weights, (double) batch * ctx * kvBytesPerPosition(c, kvElementBytes));
    }

    /** Every bf16 weight a model holds (all experts), lm_head included: what must fit on the device. */
    public static double modelBytes(ModelConfig c) {
        return fixedWeights(c) + (double) c.numMoeLayers() * c.numExperts * expertBytes(c) + lmHeadBytes(c)
                + (double) c.vocabSize * c.hiddenSize * 2;
    }

    /** The weights every step reads whatever its routing: attention of every layer, and per MoE layer its router
     *  and shared experts, per dense layer its MLP. */
    private static double fixedWeights(ModelConfig c) {
        double h = c.hiddenSize;
        double attention = c.attention.weightElements(c.hiddenSize) * 2.0;
        double router = (double) c.numExperts * h * 2;
        double shared = 3.0 * c.sharedExpertIntermediateSize * h * 2 + (c.sharedExpertGated ? h * 2 : 0);
        double denseMlp = 3.0 * c.denseIntermediateSize * h * 2;
        int moeLayers = c.numMoeLayers();
        return c.numLayers * attention + moeLayers * (router + shared) + (c.numLayers - moeLayers) * denseMlp;
    }

    private static double expertBytes(ModelConfig c) {
        return 3.0 * c.moeIntermediateSize * c.hiddenSize * 2;
    }

    private static double lmHeadBytes(ModelConfig c) {
        return (double) c.vocabSize * c.hiddenSize * 2;
    }

    /** K/V bytes of one position over all layers, as the cache holds it. */
    private static double kvBytesPerPosition(ModelConfig c, int kvElementBytes) {
        return (double) c.numLayers * (c.attention.keyWidth() + c.attention.valueWidth()) * kvElementBytes;
    }
}
