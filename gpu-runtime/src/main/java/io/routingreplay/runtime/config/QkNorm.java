package io.routingreplay.runtime.config;

/** Where an architecture applies RMSNorm to queries and keys before RoPE. */
public enum QkNorm {
    /** Mixtral: no q/k norm. */
    NONE,
    /** Qwen3: one RMSNorm of width head_dim, applied to every head separately. */
    PER_HEAD,
    /** OLMoE: one RMSNorm over the full projected width (heads × head_dim). */
    FULL
}
