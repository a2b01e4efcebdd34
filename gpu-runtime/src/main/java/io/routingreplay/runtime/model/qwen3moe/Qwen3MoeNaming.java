package io.routingreplay.runtime.model.qwen3moe;

import io.routingreplay.runtime.model.TensorNaming;

/**
 * Qwen3-MoE uses the Hub's common layout: {@code mlp.gate} router, {@code mlp.experts.N.{gate,up,down}_proj},
 * per-head {@code self_attn.q_norm}/{@code k_norm}, dense {@code mlp.*_proj} in {@code mlp_only_layers}.
 */
public final class Qwen3MoeNaming implements TensorNaming {
}
