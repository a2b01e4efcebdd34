package io.routingreplay.runtime.model.attention;

import io.routingreplay.runtime.weights.TensorView;

/** A GQA layer's tensors (memory-mapped). */
public final class GqaWeights implements AttentionWeights {
    public TensorView wq;         // [heads*head_dim, hidden]
    public TensorView wk;         // [kv_heads*head_dim, hidden]
    public TensorView wv;         // [kv_heads*head_dim, hidden]
    public TensorView wo;         // [hidden, heads*head_dim]
    public TensorView bq;         // [heads*head_dim], with qkv bias only
    public TensorView bk;         // [kv_heads*head_dim]
    public TensorView bv;         // [kv_heads*head_dim]
    public TensorView qNorm;      // [head_dim] (PER_HEAD) or [heads*head_dim] (FULL) or null
    public TensorView kNorm;      // [head_dim] (PER_HEAD) or [kv_heads*head_dim] (FULL) or null
}
