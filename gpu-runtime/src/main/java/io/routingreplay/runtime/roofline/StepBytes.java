package io.routingreplay.runtime.roofline;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.backend.StepOutput;
import io.routingreplay.runtime.config.ModelConfig;

import java.util.Arrays;

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
        int moeLayers = c.numMoeLayers(), k = c.topK;
        double distinctExperts = 0;
        boolean[] seen = new boolean[c.numExperts];
        for (int l = 0; l < moeLayers; l++) {
            Arrays.fill(seen, false);
            int n = 0;
            for (int[] ids : out.routingIds()) {             // [token][moe layer][k]
                for (int t = 0; t < ids.length / (moeLayers * k); t++) {
                    for (int j = 0; j < k; j++) {
                        int e = ids[(t * moeLayers + l) * k + j];
                        if (!seen[e]) {
                            seen[e] = true;
                            n++;
                        }
                    }
                }
            }
            distinctExperts += n;
        }
        boolean sampled = false;
        double positionsRead = 0, positionsWritten = 0;
        for (SeqChunk ch : batch.chunks()) {
            sampled |= ch.sample();
            positionsRead += ch.startPos() + ch.length();
            positionsWritten += ch.length();
        }
        double h = c.hiddenSize;
        double attention = ((c.qDim() + 2.0 * c.kvDim()) * h + h * c.qDim()) * 2;
        double router = (double) c.numExperts * h * 2;
        double expert = 3.0 * c.moeIntermediateSize * h * 2;
        double denseMlp = 3.0 * c.denseIntermediateSize * h * 2;
        int denseLayers = c.numLayers - moeLayers;
        double weights = c.numLayers * attention + moeLayers * router + distinctExperts * expert + denseLayers * denseMlp
                + (sampled ? (double) c.vocabSize * h * 2 : 0);
        double kvPerPosition = (double) c.numLayers * 2 * c.kvDim() * kvElementBytes;
        return new StepBytes(weights, (positionsRead + positionsWritten) * kvPerPosition);
    }

    /** A decode step of {@code batch} sequences at context {@code ctx} touching {@code expertsPerLayer} distinct
     *  experts per MoE layer (the benchmark's estimate, where no schedule exists). */
    public static StepBytes decode(ModelConfig c, int kvElementBytes, int batch, int ctx, double expertsPerLayer) {
        double h = c.hiddenSize;
        double attention = ((c.qDim() + 2.0 * c.kvDim()) * h + h * c.qDim()) * 2;
        double router = (double) c.numExperts * h * 2;
        double expert = 3.0 * c.moeIntermediateSize * h * 2;
        double weights = c.numLayers * (attention + router + expertsPerLayer * expert) + (double) c.vocabSize * h * 2;
        return new StepBytes(weights, (double) batch * ctx * c.numLayers * 2.0 * c.kvDim() * kvElementBytes);
    }
}
