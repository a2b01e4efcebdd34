package io.routingreplay.runtime.model;

import io.routingreplay.runtime.weights.TensorView;

/** An MoE layer's tensors: the router, the routed experts (Hub per-expert layout) and the shared experts. */
public final class MoeWeights {
    public TensorView router;        // [num_experts, hidden]
    public TensorView routerBias;    // [num_experts], e_score_correction_bias, or null
    public TensorView[] expertGate;  // num_experts × [moe_inter, hidden]
    public TensorView[] expertUp;    // num_experts × [moe_inter, hidden]
    public TensorView[] expertDown;  // num_experts × [hidden, moe_inter]
    public MlpWeights shared;        // always-on shared experts, or null
    public TensorView sharedGate;    // [1, hidden], Qwen2-MoE's shared expert gate, or null
}
