package io.routingreplay.runtime.model;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.weights.TensorView;
import io.routingreplay.runtime.weights.WeightStore;

/**
 * Every tensor a forward pass needs, resolved by name (the architecture's {@link TensorNaming}) and shape-checked
 * against the config at load, so a wrong or truncated checkpoint fails here with the tensor's name rather than
 * mid-generation.
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

    /** Weights assembled from tensors already at hand (a rank's slices of a loaded model). */
    public static ModelWeights of(ModelConfig config, TensorView embedding, TensorView finalNorm, TensorView lmHead,
                                  LayerWeights[] layers) {
        return new ModelWeights(config, embedding, finalNorm, lmHead, layers);
    }

    public static ModelWeights load(ModelConfig c, WeightStore store) {
        TensorNaming n = c.architecture.naming();
        long h = c.hiddenSize;
        TensorView emb = store.get(n.embedding()).expectShape(c.vocabSize, h);
        TensorView norm = store.get(n.finalNorm()).expectShape(h);
        TensorView head = (c.tieWordEmbeddings && !store.has(n.lmHead())) ? emb
                : store.get(n.lmHead()).expectShape(c.vocabSize, h);
        LayerWeights[] layers = new LayerWeights[c.numLayers];
        for (int i = 0; i < c.numLayers; i++) {
            int layer = i;
            LayerWeights l = new LayerWeights();
            l.attnNorm = store.get(n.attnNorm(i)).expectShape(h);
            l.attention = c.attention.load(store, n, i, c.hiddenSize);
            l.ffnNorm = store.get(n.ffnNorm(i)).expectShape(h);
            if (c.isMoeLayer(i)) {
                MoeWeights m = new MoeWeights();
                m.router = store.get(n.router(i)).expectShape(c.numExperts, h);
                if (c.router.hasCorrectionBias()) {
                    m.routerBias = store.get(n.routerBias(i)).expectShape(c.numExperts);
                }
                m.expertGate = new TensorView[c.numExperts];
                m.expertUp = new TensorView[c.numExperts];
                m.expertDown = new TensorView[c.numExperts];
                for (int e = 0; e < c.numExperts; e++) {
                    m.expertGate[e] = store.get(n.expert(i, e, "gate")).expectShape(c.moeIntermediateSize, h);
                    m.expertUp[e] = store.get(n.expert(i, e, "up")).expectShape(c.moeIntermediateSize, h);
                    m.expertDown[e] = store.get(n.expert(i, e, "down")).expectShape(h, c.moeIntermediateSize);
                }
                if (c.sharedExpertIntermediateSize > 0) {
                    m.shared = MlpWeights.load(store, which -> n.sharedExpert(layer, which),
                            c.sharedExpertIntermediateSize, h);
                    if (c.sharedExpertGated) {
                        m.sharedGate = store.get(n.sharedExpertGate(i)).expectShape(1, h);
                    }
                }
                l.moe = m;
            } else {
                l.dense = MlpWeights.load(store, which -> n.denseMlp(layer, which), c.denseIntermediateSize, h);
            }
            layers[i] = l;
        }
        return new ModelWeights(c, emb, norm, head, layers);
    }
}
