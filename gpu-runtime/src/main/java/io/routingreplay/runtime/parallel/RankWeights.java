package io.routingreplay.runtime.parallel;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.LayerWeights;
import io.routingreplay.runtime.model.MlpWeights;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.model.MoeWeights;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.attention.GqaWeights;
import io.routingreplay.runtime.model.attention.MlaAttention;
import io.routingreplay.runtime.model.attention.MlaWeights;
import io.routingreplay.runtime.weights.SliceReader;
import io.routingreplay.runtime.weights.TensorView;

/**
 * One rank's weights, read slice by slice from the memory-mapped checkpoint (the model's {@link ModelWeights} only
 * names and shape-checks its tensors; nothing of it is read until a rank asks). Row-split: q/k/v (and their bias),
 * MLA's q / q_b / kv_b, gate and up projections, embedding and lm_head; column-split: o_proj and down projections
 * (their partial outputs are summed over ranks). Replicated: norms, routers, MLA's q_a / kv_a (a few per cent of a
 * layer, computed on every rank). Routed experts outside the rank's group are not read at all (null).
 */
public final class RankWeights {
    private RankWeights() {
    }

    public static ModelWeights read(ModelWeights full, RankShard s, SliceReader in) {
        ModelConfig c = full.config;
        Slice vocab = s.vocab();
        TensorView emb = in.rows(full.embedding, vocab.from(), vocab.to());
        TensorView head = full.lmHead == full.embedding ? emb : in.rows(full.lmHead, vocab.from(), vocab.to());
        LayerWeights[] layers = new LayerWeights[c.numLayers];
        for (int l = 0; l < c.numLayers; l++) {
            LayerWeights f = full.layers[l];
            LayerWeights w = new LayerWeights();
            w.attnNorm = in.whole(f.attnNorm);
            w.ffnNorm = in.whole(f.ffnNorm);
            w.attention = f.attention instanceof GqaWeights g ? gqa(g, c, s, in) : mla((MlaWeights) f.attention, c, s, in);
            if (f.moe != null) {
                w.moe = moe(f.moe, c, s, in);
            } else {
                w.dense = mlp(f.dense, s.denseColumns(), in);
            }
            layers[l] = w;
        }
        return ModelWeights.of(c, emb, in.whole(full.finalNorm), head, layers);
    }

    private static GqaWeights gqa(GqaWeights f, ModelConfig c, RankShard s, SliceReader in) {
        int hd = ((GqaAttention) c.attention).headDim();
        Slice q = s.heads().times(hd), kv = s.kvHeads().times(hd);
        GqaWeights w = new GqaWeights();
        w.wq = in.rows(f.wq, q.from(), q.to());
        w.wk = in.rows(f.wk, kv.from(), kv.to());
        w.wv = in.rows(f.wv, kv.from(), kv.to());
        w.wo = in.columns(f.wo, q.from(), q.to());
        if (f.bq != null) {
            w.bq = in.rows(f.bq, q.from(), q.to());
            w.bk = in.rows(f.bk, kv.from(), kv.to());
            w.bv = in.rows(f.bv, kv.from(), kv.to());
        }
        // Per-head norms are one head wide; a full-width norm (OLMoE) normalises whole gathered rows: both whole.
        w.qNorm = f.qNorm == null ? null : in.whole(f.qNorm);
        w.kNorm = f.kNorm == null ? null : in.whole(f.kNorm);
        return w;
    }

    private static MlaWeights mla(MlaWeights f, ModelConfig c, RankShard s, SliceReader in) {
        MlaAttention a = (MlaAttention) c.attention;
        Slice q = s.heads().times(a.qkHeadDim());
        Slice kvb = s.heads().times(a.qkNopeHeadDim() + a.vHeadDim());
        Slice o = s.heads().times(a.vHeadDim());
        MlaWeights w = new MlaWeights();
        if (f.q != null) {
            w.q = in.rows(f.q, q.from(), q.to());
        } else {
            w.qA = in.whole(f.qA);
            w.qANorm = in.whole(f.qANorm);
            w.qB = in.rows(f.qB, q.from(), q.to());
        }
        w.kvA = in.whole(f.kvA);
        w.kvANorm = in.whole(f.kvANorm);
        w.kvB = in.rows(f.kvB, kvb.from(), kvb.to());
        w.wo = in.columns(f.wo, o.from(), o.to());
        return w;
    }

    private static MoeWeights moe(MoeWeights f, ModelConfig c, RankShard s, SliceReader in) {
        MoeWeights w = new MoeWeights();
        w.router = in.whole(f.router);
        w.routerBias = f.routerBias == null ? null : in.whole(f.routerBias);
        w.expertGate = new TensorView[c.numExperts];
        w.expertUp = new TensorView[c.numExperts];
        w.expertDown = new TensorView[c.numExperts];
        Slice cols = s.expertColumns();
        for (int e = s.experts().from(); e < s.experts().to(); e++) {
            w.expertGate[e] = in.rows(f.expertGate[e], cols.from(), cols.to());
            w.expertUp[e] = in.rows(f.expertUp[e], cols.from(), cols.to());
            w.expertDown[e] = in.columns(f.expertDown[e], cols.from(), cols.to());
        }
        w.shared = f.shared == null ? null : mlp(f.shared, s.sharedColumns(), in);
        w.sharedGate = f.sharedGate == null ? null : in.whole(f.sharedGate);
        return w;
    }

    private static MlpWeights mlp(MlpWeights f, Slice cols, SliceReader in) {
        return new MlpWeights(in.rows(f.gate(), cols.from(), cols.to()), in.rows(f.up(), cols.from(), cols.to()),
                in.columns(f.down(), cols.from(), cols.to()));
    }
}
