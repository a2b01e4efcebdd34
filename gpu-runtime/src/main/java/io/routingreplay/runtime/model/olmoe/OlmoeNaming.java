package io.routingreplay.runtime.model.olmoe;

import io.routingreplay.runtime.model.TensorNaming;

/**
 * OLMoE uses the Hub's common layout ({@code mlp.gate}, {@code mlp.experts.N.*_proj}); its
 * {@code self_attn.q_norm}/{@code k_norm} span the full projection width.
 */
public final class OlmoeNaming implements TensorNaming {
}
