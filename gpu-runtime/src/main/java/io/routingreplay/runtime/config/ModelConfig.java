package io.routingreplay.runtime.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;

/**
 * Hyper-parameters of one MoE decoder checkpoint, normalised across the spellings found in the wild.
 * Built by {@link ModelConfigLoader}; checked once here, at construction.
 */
public final class ModelConfig {
    public final Architecture architecture;
    public final int vocabSize;
    public final int hiddenSize;
    public final int numLayers;
    public final int numHeads;
    public final int numKvHeads;
    public final int headDim;
    /** Width of the dense SwiGLU MLP (layers listed in mlp_only_layers or skipped by decoder_sparse_step). */
    public final int denseIntermediateSize;
    /** Width of one expert's SwiGLU MLP. */
    public final int moeIntermediateSize;
    public final int numExperts;
    public final int topK;
    /** Renormalise the top-k router probabilities to sum to 1 (always true for Mixtral). */
    public final boolean normTopkProb;
    public final float rmsNormEps;
    public final double ropeTheta;
    public final int maxPositionEmbeddings;
    public final boolean tieWordEmbeddings;
    public final QkNorm qkNorm;
    /** Decoder layer indices whose feed-forward is a routed MoE block, ascending. */
    public final int[] moeLayerIndices;
    /** End-of-sequence token ids (config.json and generation_config.json merged). */
    public final List<Integer> eosTokenIds;
    /** Storage dtype named by the checkpoint (informational; tensors carry their own dtype). */
    public final String dtype;

    private final boolean[] isMoe;

    public ModelConfig(Architecture architecture, int vocabSize, int hiddenSize, int numLayers, int numHeads,
                       int numKvHeads, int headDim, int denseIntermediateSize, int moeIntermediateSize,
                       int numExperts, int topK, boolean normTopkProb, float rmsNormEps, double ropeTheta,
                       int maxPositionEmbeddings, boolean tieWordEmbeddings, QkNorm qkNorm,
                       Set<Integer> mlpOnlyLayers, int decoderSparseStep, List<Integer> eosTokenIds, String dtype) {
        this.architecture = architecture;
        this.vocabSize = vocabSize;
        this.hiddenSize = hiddenSize;
        this.numLayers = numLayers;
        this.numHeads = numHeads;
        this.numKvHeads = numKvHeads;
        this.headDim = headDim;
        this.denseIntermediateSize = denseIntermediateSize;
        this.moeIntermediateSize = moeIntermediateSize;
        this.numExperts = numExperts;
        this.topK = topK;
        this.normTopkProb = normTopkProb;
        this.rmsNormEps = rmsNormEps;
        this.ropeTheta = ropeTheta;
        this.maxPositionEmbeddings = maxPositionEmbeddings;
        this.tieWordEmbeddings = tieWordEmbeddings;
        this.qkNorm = qkNorm;
        this.eosTokenIds = List.copyOf(eosTokenIds);
        this.dtype = dtype;
        check(vocabSize > 0, "vocab_size must be > 0");
        check(hiddenSize > 0, "hidden_size must be > 0");
        check(numLayers > 0, "num_hidden_layers must be > 0");
        check(numHeads > 0 && numKvHeads > 0, "num_attention_heads and num_key_value_heads must be > 0");
        check(numHeads % numKvHeads == 0, "num_attention_heads (" + numHeads
                + ") must be a multiple of num_key_value_heads (" + numKvHeads + ")");
        check(headDim > 0 && headDim % 2 == 0, "head_dim must be a positive even number, got " + headDim);
        check(numExperts > 0, "num_experts / num_local_experts must be > 0 for an MoE model");
        check(topK > 0 && topK <= numExperts, "num_experts_per_tok (" + topK + ") must be in 1.." + numExperts);
        check(moeIntermediateSize > 0, "moe_intermediate_size must be > 0");
        check(decoderSparseStep > 0, "decoder_sparse_step must be > 0");
        check(maxPositionEmbeddings > 0, "max_position_embeddings must be > 0");
        isMoe = new boolean[numLayers];
        List<Integer> moe = new ArrayList<>();
        for (int i = 0; i < numLayers; i++) {
            // Qwen3-MoE's rule (Mixtral and OLMoE have no dense layers: empty set, step 1).
            isMoe[i] = !mlpOnlyLayers.contains(i) && (i + 1) % decoderSparseStep == 0;
            if (isMoe[i]) {
                moe.add(i);
            }
        }
        check(!moe.isEmpty(), "no MoE layer: mlp_only_layers/decoder_sparse_step make every layer dense");
        if (moe.size() < numLayers) {
            check(denseIntermediateSize > 0, "intermediate_size must be > 0 when dense layers are present");
        }
        moeLayerIndices = moe.stream().mapToInt(Integer::intValue).toArray();
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("invalid model config: " + message);
        }
    }

    public boolean isMoeLayer(int layer) {
        return isMoe[layer];
    }

    public int numMoeLayers() {
        return moeLayerIndices.length;
    }

    /** Index of {@code layer} among the MoE layers, or -1 for a dense layer. */
    public int moeSlot(int layer) {
        for (int i = 0; i < moeLayerIndices.length; i++) {
            if (moeLayerIndices[i] == layer) {
                return i;
            }
        }
        return -1;
    }

    public int qDim() {
        return numHeads * headDim;
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    public List<Integer> moeLayerIndexList() {
        List<Integer> l = new ArrayList<>();
        for (int i : moeLayerIndices) {
            l.add(i);
        }
        return Collections.unmodifiableList(l);
    }

    @Override
    public String toString() {
        return architecture.modelType() + "{layers=" + numLayers + ", hidden=" + hiddenSize + ", heads=" + numHeads
                + "/" + numKvHeads + "x" + headDim + ", experts=" + numExperts + " top" + topK + " x"
                + moeIntermediateSize + ", moeLayers=" + moeLayerIndices.length + ", vocab=" + vocabSize + "}";
    }
}
