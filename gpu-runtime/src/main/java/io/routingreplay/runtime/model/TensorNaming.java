package io.routingreplay.runtime.model;

/** How one architecture names its tensors in a Hugging Face checkpoint (defaults: the Hub's common layout). */
public interface TensorNaming {
    default String embedding() {
        return "model.embed_tokens.weight";
    }

    default String finalNorm() {
        return "model.norm.weight";
    }

    default String lmHead() {
        return "lm_head.weight";
    }

    default String layer(int i, String suffix) {
        return "model.layers." + i + "." + suffix;
    }

    default String attnNorm(int i) {
        return layer(i, "input_layernorm.weight");
    }

    default String ffnNorm(int i) {
        return layer(i, "post_attention_layernorm.weight");
    }

    default String attn(int i, String proj) {
        return layer(i, "self_attn." + proj + ".weight");
    }

    /** A q/k/v projection's bias ({@code self_attn.<proj>.bias}). */
    default String attnBias(int i, String proj) {
        return layer(i, "self_attn." + proj + ".bias");
    }

    /** Qwen2-MoE's shared expert gate [1, hidden] ({@code mlp.shared_expert_gate}). */
    default String sharedExpertGate(int layer) {
        return layer(layer, "mlp.shared_expert_gate.weight");
    }

    /** Router weight [num_experts, hidden]; the Hub's common layout is {@code mlp.gate}. */
    default String router(int layer) {
        return layer(layer, "mlp.gate.weight");
    }

    /** DeepSeek-V3's per-expert selection bias [num_experts] ({@code mlp.gate.e_score_correction_bias}). */
    default String routerBias(int layer) {
        return layer(layer, "mlp.gate.e_score_correction_bias");
    }

    /** The shared expert block's projection; {@code which} is "gate", "up" or "down" ({@code mlp.shared_experts}). */
    default String sharedExpert(int layer, String which) {
        return layer(layer, "mlp.shared_experts." + which + "_proj.weight");
    }

    /** One expert's projection; {@code which} is "gate", "up" or "down" ({@code mlp.experts.N.*_proj}). */
    default String expert(int layer, int expert, String which) {
        return layer(layer, "mlp.experts." + expert + "." + which + "_proj.weight");
    }

    /** The dense MLP's projection in a non-MoE layer; {@code which} is "gate", "up" or "down". */
    default String denseMlp(int layer, String which) {
        return layer(layer, "mlp." + which + "_proj.weight");
    }
}
