package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.model.MoeWeights;

/**
 * An MoE block on the CPU: the router (the config's {@link io.routingreplay.runtime.model.router.RouterKind}, one
 * token at a time), each hit expert's SwiGLU over the tokens routed to it, combined per token in expert-id order
 * (as transformers' index_add_ does), plus the shared experts when the architecture has them (scaled by their
 * sigmoid gate where it has one).
 */
final class CpuMoe {
    private final ModelConfig c;
    private final ModelWeights w;
    private final float[][] bias;   // [layer][num_experts], the router's correction bias, null where none
    private final CpuProducts products;

    CpuMoe(ModelConfig c, ModelWeights w, CpuProducts products) {
        this.c = c;
        this.w = w;
        this.products = products;
        bias = new float[c.numLayers][];
        for (int l = 0; l < c.numLayers; l++) {
            MoeWeights m = w.layers[l].moe;
            bias[l] = m == null || m.routerBias == null ? null : m.routerBias.toFloatArray();
        }
    }

    /**
     * Layer l's MoE block over xn [T, hidden]: [T, hidden] to add to the residual stream — on a sharded model this
     * rank's partial (its experts, its slice of each expert's and the shared experts' width), summed over ranks by
     * the caller. The routed ids and weights of token t are written to {@code topIds}/{@code topW} at t·K (logical
     * ids, sorted by combine weight, descending); every rank routes from the same bits, so they agree.
     *
     * <p>Routing replay: where {@code forced[t]} is set, token t uses the ids {@code topIds} already holds at t·K
     * (weighed by the live router, {@link io.routingreplay.runtime.model.router.RouterKind#weigh}), and
     * {@code reproduced[t]} receives how many of them the free router would also have picked.
     * {@code forced} may be null (no token is forced).
     */
    float[] forward(int l, int T, float[] xn, int[] topIds, float[] topW, boolean[] forced, byte[] reproduced) {
        MoeWeights lw = w.layers[l].moe;
        int H = c.hiddenSize, E = c.numExperts, K = c.topK;
        float[] logits = new float[T * E];                 // [T, num_experts]
        CpuOps.linear(products.par, lw.router, xn, null, T, H, logits, E);
        int[] free = new int[K];
        for (int t = 0; t < T; t++) {
            if (forced != null && forced[t]) {
                c.router.weigh(logits, t * E, topIds, topW, t * K);
                c.router.select(logits, t * E, bias[l], free, 0);
                reproduced[t] = (byte) sharedIds(free, topIds, t * K, K);
            } else {
                c.router.route(logits, t * E, bias[l], topIds, topW, t * K);
            }
        }
        // Group (token, rank) pairs by expert.
        int[] count = new int[E];
        for (int i = 0; i < T * K; i++) {
            count[topIds[i]]++;
        }
        int[][] members = new int[E][];
        for (int e = 0; e < E; e++) {
            members[e] = new int[count[e]];
            count[e] = 0;
        }
        for (int i = 0; i < T * K; i++) {
            members[topIds[i]][count[topIds[i]]++] = i;
        }
        float[] expertOut = new float[T * K * H];          // [T*K, hidden], one row per (token, rank)
        for (int e = 0; e < E; e++) {
            int m = members[e].length;
            if (m == 0 || lw.expertGate[e] == null) {      // not hit, or another rank's expert
                continue;
            }
            int I = (int) lw.expertGate[e].shape[0];       // this rank's columns of the expert
            int[] rows = new int[m];
            for (int r = 0; r < m; r++) {
                rows[r] = members[e][r] / K;
            }
            float[] act = CpuMlp.swiglu(products, lw.expertGate[e], lw.expertUp[e], xn, rows, m, H, I);
            float[] down = new float[m * H];
            products.linear(lw.expertDown[e], act, null, m, I, down, H);
            for (int r = 0; r < m; r++) {
                System.arraycopy(down, r * H, expertOut, members[e][r] * H, H);
            }
        }
        float[] shared = lw.shared == null ? null : CpuMlp.forward(products, lw.shared, xn, T, H);
        if (lw.sharedGate != null) {                       // Qwen2-MoE: sigmoid(shared_expert_gate · x) * shared(x)
            float[] gate = new float[T];
            CpuOps.linear(products.par, lw.sharedGate, xn, null, T, H, gate, 1);
            for (int t = 0; t < T; t++) {
                float g = (float) (1.0 / (1.0 + Math.exp(-gate[t])));
                for (int d = 0; d < H; d++) {
                    shared[t * H + d] *= g;
                }
            }
        }
        float[] out = new float[T * H];
        float[] moeOut = new float[H];
        for (int t = 0; t < T; t++) {
            java.util.Arrays.fill(moeOut, 0f);
            for (int e = 0; e < E; e++) {                  // expert-id order, like transformers' index_add_
                if (lw.expertGate[e] == null) {
                    continue;
                }
                for (int j = 0; j < K; j++) {
                    if (topIds[t * K + j] == e) {
                        float wgt = topW[t * K + j];
                        int off = (t * K + j) * H;
                        for (int d = 0; d < H; d++) {
                            moeOut[d] += expertOut[off + d] * wgt;
                        }
                    }
                }
            }
            if (shared != null) {                          // routed + shared, then the residual (transformers' order)
                for (int d = 0; d < H; d++) {
                    moeOut[d] += shared[t * H + d];
                }
            }
            System.arraycopy(moeOut, 0, out, t * H, H);
        }
        return out;
    }

    /** How many of {@code free}'s k ids are among {@code ids[off .. off + k)} (ids within a top-k are distinct). */
    private static int sharedIds(int[] free, int[] ids, int off, int k) {
        int n = 0;
        for (int a = 0; a < k; a++) {
            for (int b = 0; b < k; b++) {
                if (free[a] == ids[off + b]) {
                    n++;
                    break;
                }
            }
        }
        return n;
    }
}
