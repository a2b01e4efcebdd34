package io.routingreplay.runtime.config;

import io.routingreplay.runtime.model.Architecture;
import io.routingreplay.runtime.model.Rope;
import io.routingreplay.runtime.model.attention.AttentionKind;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.router.RouterKind;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.IntPredicate;

/**
 * Hyper-parameters of one MoE decoder checkpoint, normalised across the spellings found in the wild.
 * Built by {@link ModelConfigLoader} through the checkpoint's {@link Architecture}; checked once here, at
 * construction. The parts a layer is made of are described by {@link #attention}, {@link #router},
 * {@link #sharedExpertIntermediateSize} and {@link #isMoeLayer(int)}.
 */
public final class ModelConfig {
    public final Architecture architecture;
    public final int vocabSize;
    public final int hiddenSize;
    public final int numLayers;
    public final int numHeads;
    public final int numKvHeads;
    /** Per-head width of the GQA projections; for MLA the rotary width (transformers' head_dim). */
    public final int headDim;
    /** Width of the dense SwiGLU MLP (layers that have no routed experts). */
    public final int denseIntermediateSize;
    /** Width of one expert's SwiGLU MLP. */
    public final int moeIntermediateSize;
    /** Width of the always-on shared expert block of each MoE layer; 0 when the architecture has none. */
    public final int sharedExpertIntermediateSize;
    /** The shared experts' output is scaled per token by sigmoid(shared_expert_gate · x) (Qwen2-MoE). */
    public final boolean sharedExpertGated;
    public final int numExperts;
    public final int topK;
    /** Renormalise the top-k router weights to sum to 1 (always true for Mixtral). */
    public final boolean normTopkProb;
    public final float rmsNormEps;
    public final double ropeTheta;
    public final Rope rope;
    public final int maxPositionEmbeddings;
    public final boolean tieWordEmbeddings;
    /** q/k norm of GQA attention ({@link QkNorm#NONE} for MLA). */
    public final QkNorm qkNorm;
    public final AttentionKind attention;
    public final RouterKind router;
    /** Decoder layer indices whose feed-forward is a routed MoE block, ascending. */
    public final int[] moeLayerIndices;
    /** End-of-sequence token ids (config.json and generation_config.json merged). */
    public final List<Integer> eosTokenIds;
    /** Storage dtype named by the checkpoint (informational; tensors carry their own dtype). */
    public final String dtype;

    private final boolean[] isMoe;

    /** What an {@link Architecture} fills in from config.json; {@link ModelConfigLoader} reads the common part. */
    public static final class Builder {
        public Architecture architecture;
        public int vocabSize, hiddenSize, numLayers, numHeads, numKvHeads, headDim;
        public int denseIntermediateSize, moeIntermediateSize, sharedExpertIntermediateSize;
        public boolean sharedExpertGated;
        public int numExperts, topK;
        public float rmsNormEps = 1e-6f;
        public Rope rope;
        public int maxPositionEmbeddings;
        public boolean tieWordEmbeddings;
        public AttentionKind attention;
        public RouterKind router;
        /** Which decoder layers have routed experts (the others a dense MLP). */
        public IntPredicate moeLayer = i -> true;
        public List<Integer> eosTokenIds = List.of();
        public String dtype = "bfloat16";

        public ModelConfig build() {
            return new ModelConfig(this);
        }
    }

    private ModelConfig(Builder b) {
        this.architecture = b.architecture;
        this.vocabSize = b.vocabSize;
        this.hiddenSize = b.hiddenSize;
        this.numLayers = b.numLayers;
        this.numHeads = b.numHeads;
        this.numKvHeads = b.numKvHeads;
        this.headDim = b.headDim;
        this.denseIntermediateSize = b.denseIntermediateSize;
        this.moeIntermediateSize = b.moeIntermediateSize;
        this.sharedExpertIntermediateSize = b.sharedExpertIntermediateSize;
        this.sharedExpertGated = b.sharedExpertGated;
        this.numExperts = b.numExperts;
        this.topK = b.topK;
        this.router = b.router;
        this.normTopkProb = b.router != null && b.router.normTopkProb();
        this.rmsNormEps = b.rmsNormEps;
        this.rope = b.rope;
        this.ropeTheta = b.rope == null ? 0 : b.rope.theta();
        this.maxPositionEmbeddings = b.maxPositionEmbeddings;
        this.tieWordEmbeddings = b.tieWordEmbeddings;
        this.attention = b.attention;
        this.qkNorm = b.attention instanceof GqaAttention g ? g.qkNorm() : QkNorm.NONE;
        this.eosTokenIds = List.copyOf(b.eosTokenIds);
        this.dtype = b.dtype;
        check(architecture != null && attention != null && router != null && rope != null,
                "architecture, attention, router and rope must be set");
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
        check(maxPositionEmbeddings > 0, "max_position_embeddings must be > 0");
        isMoe = new boolean[numLayers];
        List<Integer> moe = new ArrayList<>();
        for (int i = 0; i < numLayers; i++) {
            isMoe[i] = b.moeLayer.test(i);
            if (isMoe[i]) {
                moe.add(i);
            }
        }
        check(!moe.isEmpty(), "no MoE layer: the config makes every layer dense");
        if (moe.size() < numLayers) {
            check(denseIntermediateSize > 0, "intermediate_size must be > 0 when dense layers are present");
        }
        moeLayerIndices = moe.stream().mapToInt(Integer::intValue).toArray();
    }

    static void check(boolean ok, String message) {
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

    /** Width of the GQA query projection (heads × head_dim). */
    public int qDim() {
        return numHeads * headDim;
    }

    /** Width of the GQA key (and value) projection (kv_heads × head_dim). */
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
        return architecture.modelType() + "{layers=" + numLayers + ", hidden=" + hiddenSize + ", " + attention
                + ", experts=" + numExperts + " top" + topK + " x" + moeIntermediateSize
                + (sharedExpertIntermediateSize > 0 ? " + shared x" + sharedExpertIntermediateSize
                + (sharedExpertGated ? " gated" : "") : "")
                + ", " + router + ", moeLayers=" + moeLayerIndices.length + ", vocab=" + vocabSize + "}";
    }
}
