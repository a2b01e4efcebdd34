package io.routingreplay.runtime.model.attention;

import io.routingreplay.runtime.weights.TensorView;

/** An MLA layer's tensors (memory-mapped); {@code q} or {@code qA/qANorm/qB} is set, by q_lora_rank. */
public final class MlaWeights implements AttentionWeights {
    public TensorView q;       // [heads*qk_head_dim, hidden], without q_lora_rank
    public TensorView qA;      // [q_lora_rank, hidden]
    public TensorView qANorm;  // [q_lora_rank]
    public TensorView qB;      // [heads*qk_head_dim, q_lora_rank]
    public TensorView kvA;     // [kv_lora_rank + qk_rope_head_dim, hidden]
    public TensorView kvANorm; // [kv_lora_rank]
    public TensorView kvB;     // [heads*(qk_nope_head_dim + v_head_dim), kv_lora_rank]
    public TensorView wo;      // [hidden, heads*v_head_dim]
}
