package io.routingreplay.runtime.model;

import io.routingreplay.runtime.weights.TensorView;

/** One decoder layer's tensors (all memory-mapped). Exactly one of {@code experts*} / {@code dense*} is set. */
public final class LayerWeights {
    public TensorView attnNorm;   // [hidden]
    public TensorView wq;         // [heads*head_dim, hidden]
    public TensorView wk;         // [kv_heads*head_dim, hidden]
    public TensorView wv;         // [kv_heads*head_dim, hidden]
    public TensorView wo;         // [hidden, heads*head_dim]
    public TensorView qNorm;      // [head_dim] (PER_HEAD) or [heads*head_dim] (FULL) or null
    public TensorView kNorm;      // [head_dim] (PER_HEAD) or [kv_heads*head_dim] (FULL) or null
    public TensorView ffnNorm;    // [hidden]
    public TensorView router;     // [num_experts, hidden], MoE layers only
    public TensorView[] expertGate; // num_experts × [moe_inter, hidden]
    public TensorView[] expertUp;   // num_experts × [moe_inter, hidden]
    public TensorView[] expertDown; // num_experts × [hidden, moe_inter]
    public TensorView denseGate;  // [inter, hidden], dense layers only
    public TensorView denseUp;    // [inter, hidden]
    public TensorView denseDown;  // [hidden, inter]

    public boolean isMoe() {
        return router != null;
    }
}
