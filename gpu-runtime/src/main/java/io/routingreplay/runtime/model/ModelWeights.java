package io.routingreplay.runtime.model;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.QkNorm;
import io.routingreplay.runtime.model.mixtral.MixtralNaming;
import io.routingreplay.runtime.model.olmoe.OlmoeNaming;
import io.routingreplay.runtime.model.qwen3moe.Qwen3MoeNaming;
import io.routingreplay.runtime.weights.TensorView;
import io.routingreplay.runtime.weights.WeightStore;

/**
 * Every tensor a forward pass needs, resolved by name and shape-checked against the config at load, so a wrong
 * or truncated checkpoint fails here with the tensor's name rather than mid-generation.
 */
public final class ModelWeights {
    public final ModelConfig config;
    public final TensorView embedding; // [vocab, hidden]
    public final TensorView finalNorm; // [hidden]
    public final TensorView lmHead;    // [vocab, hidden] (the embedding when tied)
    public final LayerWeights[] layers;

    private ModelWeights(ModelConfig config, TensorView embedding, TensorView finalNorm, TensorView lmHead,
                         LayerWeights[] layers) {
        this.config = config;
        this.embedding = embedding;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.layers = layers;
    }

    public static TensorNaming naming(ModelConfig c) {
        return switch (c.architecture) {
            case QWEN3_MOE -> new Qwen3MoeNaming();
            case MIXTRAL -> new MixtralNaming();
            case OLMOE -> new OlmoeNaming();
        };
    }

    public static ModelWeights load(ModelConfig c, WeightStore store) {
        TensorNaming n = naming(c);
        long h = c.hiddenSize;
        TensorView emb = store.get(n.embedding()).expectShape(c.vocabSize, h);
        TensorView norm = store.get(n.finalNorm()).expectShape(h);
        TensorView head = (c.tieWordEmbeddings && !store.has(n.lmHead())) ? emb
                : store.get(n.lmHead()).expectShape(c.vocabSize, h);
        LayerWeights[] layers = new LayerWeights[c.numLayers];
        for (int i = 0; i < c.numLayers; i++) {
            LayerWeights l = new LayerWeights();
            l.attnNorm = store.get(n.attnNorm(i)).expectShape(h);
            l.wq = store.get(n.attn(i, "q_proj")).expectShape(c.qDim(), h);
            l.wk = store.get(n.attn(i, "k_proj")).expectShape(c.kvDim(), h);
            l.wv = store.get(n.attn(i, "v_proj")).expectShape(c.kvDim(), h);
            l.wo = store.get(n.attn(i, "o_proj")).expectShape(h, c.qDim());
            if (c.qkNorm == QkNorm.PER_HEAD) {
                l.qNorm = store.get(n.attn(i, "q_norm")).expectShape(c.headDim);
                l.kNorm = store.get(n.attn(i, "k_norm")).expectShape(c.headDim);
            } else if (c.qkNorm == QkNorm.FULL) {
                l.qNorm = store.get(n.attn(i, "q_norm")).expectShape(c.qDim());
                l.kNorm = store.get(n.attn(i, "k_norm")).expectShape(c.kvDim());
            }
            l.ffnNorm = store.get(n.ffnNorm(i)).expectShape(h);
            if (c.isMoeLayer(i)) {
                l.router = store.get(n.router(i)).expectShape(c.numExperts, h);
                l.expertGate = new TensorView[c.numExperts];
                l.expertUp = new TensorView[c.numExperts];
                l.expertDown = new TensorView[c.numExperts];
                for (int e = 0; e < c.numExperts; e++) {
                    l.expertGate[e] = store.get(n.expert(i, e, "gate")).expectShape(c.moeIntermediateSize, h);
                    l.expertUp[e] = store.get(n.expert(i, e, "up")).expectShape(c.moeIntermediateSize, h);
                    l.expertDown[e] = store.get(n.expert(i, e, "down")).expectShape(h, c.moeIntermediateSize);
                }
            } else {
                l.denseGate = store.get(n.denseMlp(i, "gate")).expectShape(c.denseIntermediateSize, h);
                l.denseUp = store.get(n.denseMlp(i, "up")).expectShape(c.denseIntermediateSize, h);
                l.denseDown = store.get(n.denseMlp(i, "down")).expectShape(h, c.denseIntermediateSize);
            }
            layers[i] = l;
        }
        return new ModelWeights(c, emb, norm, head, layers);
    }
}
