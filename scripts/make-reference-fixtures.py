#!/usr/bin/env python3
"""Builds tiny MoE checkpoints in the Hugging Face Hub layout and computes transformers' float32 reference
(greedy tokens, logprobs, top-k routing per token and MoE layer) in the format of fixtures/*/reference.json.

Runs where torch + transformers 5.17 are installed (the GPU machine; compute is on its CPU, float32, eager attention
and eager experts):
    python3 scripts/make-reference-fixtures.py OUT_DIR [--only deepseek-v2-tiny,glm4-moe-tiny]
Without torch (this machine), a dry run writes each config.json, reads it back through transformers' own config
class and checks the tensor names and shapes against what transformers' modules will expect:
    python3 scripts/make-reference-fixtures.py OUT_DIR --dry-run
Each fixture has its own random seed (from its name), so --only gives the same bytes as a full run.

The checkpoint files are written first (Hub naming: per-expert tensors), then loaded back with from_pretrained and
compared tensor by tensor with what was written, so the reference is computed from exactly the bytes a user's
engine reads. The routing is captured where transformers hands ids and weights to its experts module (a forward
pre-hook on `mlp.experts`): the ids it runs and the weights it multiplies expert outputs by (routed scaling
included). The router's logits (a forward hook on `mlp.gate`) are kept only to measure the margin and to
cross-check the captured ids against the architecture's selection rule. After writing a fixture the script loads
it once more and re-runs its first case, asserting identical tokens and routing.

Covered on purpose: OLMoE (full-width q/k norm, no top-k renormalisation); a Qwen3-MoE with dense layers mixed in
(mlp_only_layers), more than 256 experts (uint16 ids), vendor config spelling, float32 tensors in 3 shards, a
1,500-token prompt; DeepSeek-V2 (MLA without q_lora_rank, 2 shared experts, group-limited greedy, YaRN with
DeepSeek's mscale, vendor spelling) and a greedy DeepSeek-V2 variant (q_lora_rank, mscale != mscale_all_dim,
transformers-5 spelling); GLM-4.5 (partial rotary, q/k/v bias, q/k norm, sigmoid + correction bias, groups);
Qwen2-MoE (shared expert with its sigmoid gate, q/k/v bias, softmax top-k, a dense layer, transformers-5 spelling).
"""
import argparse
import functools
import json
import math
import os
import re
import sys
import zlib

# ---------------------------------------------------------------------------------------------------------------
# Fixture definitions. `config` is what the model is (keys as the vendor writes them); `spelling` says how
# config.json is written: "vendor" = this dict as is (top-level rope_theta / rope_scaling, torch_dtype),
# "transformers" = the dict passed through transformers' config class and save_pretrained (rope_parameters, dtype).
# ---------------------------------------------------------------------------------------------------------------

OLMOE = {"architectures": ["OlmoeForCausalLM"], "model_type": "olmoe", "vocab_size": 640, "hidden_size": 48,
         "intermediate_size": 24, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2,
         "num_experts": 12, "num_experts_per_tok": 3, "norm_topk_prob": False, "rms_norm_eps": 1e-5,
         "max_position_embeddings": 2048, "rope_theta": 10000.0, "tie_word_embeddings": False,
         "dtype": "bfloat16", "eos_token_id": 639, "bos_token_id": None, "pad_token_id": 1,
         "clip_qkv": None, "attention_bias": False, "output_router_logits": False}

QWEN3_MIXED = {"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "vocab_size": 700,
               "hidden_size": 32, "intermediate_size": 40, "moe_intermediate_size": 8, "num_hidden_layers": 5,
               "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16, "num_experts": 260,
               "num_experts_per_tok": 6, "norm_topk_prob": False, "mlp_only_layers": [0, 3],
               "decoder_sparse_step": 1, "rms_norm_eps": 1e-6, "max_position_embeddings": 2048,
               "rope_theta": 1000000.0, "tie_word_embeddings": False, "torch_dtype": "float32", "eos_token_id": 699,
               "bos_token_id": 698, "sliding_window": None, "use_sliding_window": False, "attention_bias": False,
               "output_router_logits": False}

# DeepSeek-V2: the Hub's DeepSeek-V2-Lite config.json spelling and RoPE (YaRN factor 40 from 4,096, mscale =
# mscale_all_dim = 0.707, "type" not "rope_type"), MLA without q_lora_rank (as V2-Lite), 2 shared experts, but the
# full DeepSeek-V2's group-limited greedy routing (group score = max of its experts' softmax probabilities) and a
# routed_scaling_factor != 1. norm_topk_prob stays false: transformers 5.17's DeepseekV2TopkRouter never
# renormalises (every DeepSeek-V2 release has it false).
DEEPSEEK_V2 = {"architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2", "vocab_size": 1000,
               "hidden_size": 64, "intermediate_size": 96, "moe_intermediate_size": 24, "num_hidden_layers": 4,
               "num_attention_heads": 4, "num_key_value_heads": 4, "q_lora_rank": None, "kv_lora_rank": 32,
               "qk_nope_head_dim": 16, "qk_rope_head_dim": 16, "v_head_dim": 24, "n_routed_experts": 24,
               "n_shared_experts": 2, "num_experts_per_tok": 6, "first_k_dense_replace": 1, "moe_layer_freq": 1,
               "topk_method": "group_limited_greedy", "n_group": 8, "topk_group": 3, "scoring_func": "softmax",
               "norm_topk_prob": False, "routed_scaling_factor": 3.0, "aux_loss_alpha": 0.001, "seq_aux": True,
               "ep_size": 1, "hidden_act": "silu", "max_position_embeddings": 163840, "rope_theta": 10000,
               "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 0.707,
                                "mscale_all_dim": 0.707, "original_max_position_embeddings": 4096, "type": "yarn"},
               "rms_norm_eps": 1e-6, "attention_bias": False, "attention_dropout": 0.0, "tie_word_embeddings": False,
               "torch_dtype": "bfloat16", "bos_token_id": 0, "eos_token_id": 1, "initializer_range": 0.02,
               "pretraining_tp": 1, "use_cache": True}

# DeepSeek-V2, greedy top-k (V2-Lite's routing: scaling 1.0), with q_lora_rank (the full V2's attention), one dense
# layer, and YaRN with mscale != mscale_all_dim so the cos/sin attention factor is not 1. Written by transformers.
DEEPSEEK_V2_GREEDY = {"architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2", "vocab_size": 800,
                      "hidden_size": 48, "intermediate_size": 80, "moe_intermediate_size": 16,
                      "num_hidden_layers": 3, "num_attention_heads": 3, "num_key_value_heads": 3,
                      "q_lora_rank": 24, "kv_lora_rank": 16, "qk_nope_head_dim": 8, "qk_rope_head_dim": 8,
                      "v_head_dim": 12, "n_routed_experts": 12, "n_shared_experts": 2, "num_experts_per_tok": 3,
                      "first_k_dense_replace": 1, "topk_method": "greedy", "n_group": None, "topk_group": None,
                      "norm_topk_prob": False, "routed_scaling_factor": 1.0, "hidden_act": "silu",
                      "max_position_embeddings": 32768,
                      "rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 8.0,
                                          "original_max_position_embeddings": 4096, "beta_fast": 32,
                                          "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 0.707},
                      "rms_norm_eps": 1e-6, "attention_bias": False, "tie_word_embeddings": False,
                      "dtype": "bfloat16", "bos_token_id": 0, "eos_token_id": 1}

# GLM-4.5 (glm4_moe), the Hub's GLM-4.5 config.json spelling: top-level rope_theta and partial_rotary_factor,
# head_dim not hidden_size / heads (as GLM-4.5's 128 with 4096 / 96), q/k/v bias, q/k norm (GLM-4.5 has it,
# GLM-4.5-Air not), a dense first layer, sigmoid scores + e_score_correction_bias (random, non-zero, stored float32
# as the Hub does), groups (group score = sum of its top-2 biased scores), norm_topk_prob, routed_scaling_factor,
# an eos_token_id list.
GLM4_MOE = {"architectures": ["Glm4MoeForCausalLM"], "model_type": "glm4_moe", "vocab_size": 1100,
            "hidden_size": 64, "intermediate_size": 112, "moe_intermediate_size": 16, "num_hidden_layers": 4,
            "num_attention_heads": 6, "num_key_value_heads": 2, "head_dim": 16, "partial_rotary_factor": 0.5,
            "attention_bias": True, "use_qk_norm": True, "first_k_dense_replace": 1, "n_routed_experts": 16,
            "n_shared_experts": 1, "num_experts_per_tok": 4, "n_group": 4, "topk_group": 2, "norm_topk_prob": True,
            "routed_scaling_factor": 2.5, "num_nextn_predict_layers": 1, "hidden_act": "silu",
            "max_position_embeddings": 131072, "rope_theta": 1000000, "rope_scaling": None, "rms_norm_eps": 1e-5,
            "attention_dropout": 0.0, "initializer_range": 0.02, "tie_word_embeddings": False,
            "torch_dtype": "bfloat16", "pad_token_id": 1097, "eos_token_id": [1097, 1098, 1099], "use_cache": True}

# Qwen2-MoE (Qwen1.5-MoE-A2.7B's kind): shared expert with its sigmoid shared_expert_gate, q/k/v bias (qkv_bias
# defaults to true), softmax top-k without renormalisation, GQA, one dense layer (mlp_only_layers). Written by
# transformers.
QWEN2_MOE = {"architectures": ["Qwen2MoeForCausalLM"], "model_type": "qwen2_moe", "vocab_size": 900,
             "hidden_size": 64, "intermediate_size": 96, "moe_intermediate_size": 16,
             "shared_expert_intermediate_size": 40, "num_hidden_layers": 4, "num_attention_heads": 4,
             "num_key_value_heads": 2, "num_experts": 20, "num_experts_per_tok": 4, "norm_topk_prob": False,
             "decoder_sparse_step": 1, "mlp_only_layers": [2], "max_position_embeddings": 8192,
             "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}, "rms_norm_eps": 1e-6,
             "use_sliding_window": False, "tie_word_embeddings": False, "dtype": "bfloat16", "bos_token_id": 898,
             "eos_token_id": 899}

# name -> (architecture, config, spelling, stored dtype, shards, prompt lengths, new tokens)
FIXTURES = {
    "olmoe-tiny": ("olmoe", OLMOE, "vendor", "bfloat16", 1, [9, 1, 300, 1500], 12),
    "qwen3-moe-mixed-tiny": ("qwen3_moe", QWEN3_MIXED, "vendor", "float32", 3, [5, 130, 1500], 12),
    "deepseek-v2-tiny": ("deepseek_v2", DEEPSEEK_V2, "vendor", "bfloat16", 1, [1, 7, 64, 300], 16),
    "deepseek-v2-greedy-tiny": ("deepseek_v2", DEEPSEEK_V2_GREEDY, "transformers", "bfloat16", 1, [6, 90], 16),
    "glm4-moe-tiny": ("glm4_moe", GLM4_MOE, "vendor", "bfloat16", 2, [1, 9, 70, 260], 16),
    "qwen2-moe-tiny": ("qwen2_moe", QWEN2_MOE, "transformers", "bfloat16", 1, [4, 50, 200], 16),
}

# ---------------------------------------------------------------------------------------------------------------
# Tensor names and shapes, from the config dict (Hub naming, per-expert tensors). kind decides the random init.
# ---------------------------------------------------------------------------------------------------------------


def num_experts(c):
    return c.get("n_routed_experts", c.get("num_experts", c.get("num_local_experts")))


def moe_layer_indices(arch, c):
    L = c["num_hidden_layers"]
    if arch in ("deepseek_v2", "glm4_moe"):
        return [i for i in range(L) if i >= c.get("first_k_dense_replace", 0)]
    if arch in ("qwen2_moe", "qwen3_moe"):
        only = set(c.get("mlp_only_layers") or [])
        step = c.get("decoder_sparse_step", 1)
        return [i for i in range(L) if i not in only and (i + 1) % step == 0]
    return list(range(L))


def mlp_spec(t, p, H, I):
    t[p + "gate_proj.weight"] = ((I, H), "w")
    t[p + "up_proj.weight"] = ((I, H), "w")
    t[p + "down_proj.weight"] = ((H, I), "w")


def tensor_spec(arch, c):
    """Ordered {name: (shape, kind)}; kind is one of embed, head, norm, w, bias, gate, corr_bias."""
    H, L, E = c["hidden_size"], c["num_hidden_layers"], num_experts(c)
    heads, kv = c["num_attention_heads"], c.get("num_key_value_heads") or c["num_attention_heads"]
    hd = c.get("head_dim") or H // heads
    t = {"model.embed_tokens.weight": ((c["vocab_size"], H), "embed"), "model.norm.weight": ((H,), "norm")}
    if not c.get("tie_word_embeddings", False):
        t["lm_head.weight"] = ((c["vocab_size"], H), "head")
    moe = set(moe_layer_indices(arch, c))
    for i in range(L):
        p = f"model.layers.{i}."
        a = p + "self_attn."
        t[p + "input_layernorm.weight"] = ((H,), "norm")
        t[p + "post_attention_layernorm.weight"] = ((H,), "norm")
        if arch == "deepseek_v2":
            qk = c["qk_nope_head_dim"] + c["qk_rope_head_dim"]
            if c.get("q_lora_rank") is None:
                t[a + "q_proj.weight"] = ((heads * qk, H), "w")
            else:
                t[a + "q_a_proj.weight"] = ((c["q_lora_rank"], H), "w")
                t[a + "q_a_layernorm.weight"] = ((c["q_lora_rank"],), "norm")
                t[a + "q_b_proj.weight"] = ((heads * qk, c["q_lora_rank"]), "w")
            t[a + "kv_a_proj_with_mqa.weight"] = ((c["kv_lora_rank"] + c["qk_rope_head_dim"], H), "w")
            t[a + "kv_a_layernorm.weight"] = ((c["kv_lora_rank"],), "norm")
            t[a + "kv_b_proj.weight"] = ((heads * (c["qk_nope_head_dim"] + c["v_head_dim"]), c["kv_lora_rank"]), "w")
            t[a + "o_proj.weight"] = ((H, heads * c["v_head_dim"]), "w")
        else:
            t[a + "q_proj.weight"] = ((heads * hd, H), "w")
            t[a + "k_proj.weight"] = ((kv * hd, H), "w")
            t[a + "v_proj.weight"] = ((kv * hd, H), "w")
            t[a + "o_proj.weight"] = ((H, heads * hd), "w")
            if (arch == "glm4_moe" and c.get("attention_bias")) or (arch == "qwen2_moe" and c.get("qkv_bias", True)):
                t[a + "q_proj.bias"] = ((heads * hd,), "bias")
                t[a + "k_proj.bias"] = ((kv * hd,), "bias")
                t[a + "v_proj.bias"] = ((kv * hd,), "bias")
            if arch == "olmoe":
                t[a + "q_norm.weight"] = ((heads * hd,), "norm")
                t[a + "k_norm.weight"] = ((kv * hd,), "norm")
            elif arch == "qwen3_moe" or (arch == "glm4_moe" and c.get("use_qk_norm")):
                t[a + "q_norm.weight"] = ((hd,), "norm")
                t[a + "k_norm.weight"] = ((hd,), "norm")
        m = p + "mlp."
        if i in moe:
            I = c["intermediate_size"] if arch == "olmoe" else c["moe_intermediate_size"]
            t[m + "gate.weight"] = ((E, H), "gate")
            if arch == "glm4_moe":
                t[m + "gate.e_score_correction_bias"] = ((E,), "corr_bias")
            for e in range(E):
                mlp_spec(t, m + f"experts.{e}.", H, I)
            if arch in ("deepseek_v2", "glm4_moe"):
                mlp_spec(t, m + "shared_experts.", H, c["moe_intermediate_size"] * c["n_shared_experts"])
            elif arch == "qwen2_moe":
                mlp_spec(t, m + "shared_expert.", H, c["shared_expert_intermediate_size"])
                t[m + "shared_expert_gate.weight"] = ((1, H), "w")
        else:
            mlp_spec(t, m, H, c["intermediate_size"])
    return t


def expected_spec_from_config(arch, cfg):
    """The same names and shapes, derived independently from transformers' config object the way its modules'
    __init__ read it (5.17 modeling code): a key transformers reads differently from the builder shows up here."""
    H, L = cfg.hidden_size, cfg.num_hidden_layers
    heads, kv = cfg.num_attention_heads, cfg.num_key_value_heads
    t = {"model.embed_tokens.weight": (cfg.vocab_size, H), "model.norm.weight": (H,)}
    if not cfg.tie_word_embeddings:
        t["lm_head.weight"] = (cfg.vocab_size, H)
    moe = []
    for i in range(L):
        p, a, m = f"model.layers.{i}.", f"model.layers.{i}.self_attn.", f"model.layers.{i}.mlp."
        t[p + "input_layernorm.weight"] = (H,)
        t[p + "post_attention_layernorm.weight"] = (H,)
        if arch == "deepseek_v2":
            if cfg.q_lora_rank is None:
                t[a + "q_proj.weight"] = (heads * cfg.qk_head_dim, H)
            else:
                t[a + "q_a_proj.weight"] = (cfg.q_lora_rank, H)
                t[a + "q_a_layernorm.weight"] = (cfg.q_lora_rank,)
                t[a + "q_b_proj.weight"] = (heads * cfg.qk_head_dim, cfg.q_lora_rank)
            t[a + "kv_a_proj_with_mqa.weight"] = (cfg.kv_lora_rank + cfg.qk_rope_head_dim, H)
            t[a + "kv_a_layernorm.weight"] = (cfg.kv_lora_rank,)
            t[a + "kv_b_proj.weight"] = (heads * (cfg.qk_nope_head_dim + cfg.v_head_dim), cfg.kv_lora_rank)
            t[a + "o_proj.weight"] = (H, heads * cfg.v_head_dim)
            is_moe = i >= cfg.first_k_dense_replace
        else:
            hd = getattr(cfg, "head_dim", None) or H // heads
            t[a + "q_proj.weight"] = (heads * hd, H)
            t[a + "k_proj.weight"] = (kv * hd, H)
            t[a + "v_proj.weight"] = (kv * hd, H)
            t[a + "o_proj.weight"] = (H, heads * hd)
            bias = cfg.attention_bias if arch == "glm4_moe" else cfg.qkv_bias if arch == "qwen2_moe" else False
            if bias:
                t[a + "q_proj.bias"] = (heads * hd,)
                t[a + "k_proj.bias"] = (kv * hd,)
                t[a + "v_proj.bias"] = (kv * hd,)
            if arch == "olmoe":
                t[a + "q_norm.weight"] = (H,)
                t[a + "k_norm.weight"] = ((H // heads) * kv,)
            elif arch == "qwen3_moe" or (arch == "glm4_moe" and cfg.use_qk_norm):
                t[a + "q_norm.weight"] = (hd,)
                t[a + "k_norm.weight"] = (hd,)
            if arch == "glm4_moe":
                is_moe = i >= cfg.first_k_dense_replace
            elif arch in ("qwen2_moe", "qwen3_moe"):
                is_moe = i not in cfg.mlp_only_layers and cfg.num_experts > 0 and (i + 1) % cfg.decoder_sparse_step == 0
            else:
                is_moe = True
        if is_moe:
            moe.append(i)
            E = cfg.num_local_experts if arch == "glm4_moe" else cfg.num_experts
            I = cfg.intermediate_size if arch == "olmoe" else cfg.moe_intermediate_size
            t[m + "gate.weight"] = (E, H)
            if arch == "glm4_moe":
                t[m + "gate.e_score_correction_bias"] = (E,)
            for e in range(E):
                for n, s in (("gate_proj", (I, H)), ("up_proj", (I, H)), ("down_proj", (H, I))):
                    t[m + f"experts.{e}.{n}.weight"] = s
            if arch in ("deepseek_v2", "glm4_moe"):
                S = cfg.moe_intermediate_size * cfg.n_shared_experts
                for n, s in (("gate_proj", (S, H)), ("up_proj", (S, H)), ("down_proj", (H, S))):
                    t[m + f"shared_experts.{n}.weight"] = s
            elif arch == "qwen2_moe":
                S = cfg.shared_expert_intermediate_size
                for n, s in (("gate_proj", (S, H)), ("up_proj", (S, H)), ("down_proj", (H, S))):
                    t[m + f"shared_expert.{n}.weight"] = s
                t[m + "shared_expert_gate.weight"] = (1, H)
        else:
            I = cfg.intermediate_size
            for n, s in (("gate_proj", (I, H)), ("up_proj", (I, H)), ("down_proj", (H, I))):
                t[m + f"{n}.weight"] = s
    return t, moe


# ---------------------------------------------------------------------------------------------------------------
# Routing rules: the score each architecture selects experts by, used for the margin and a cross-check only.
# ---------------------------------------------------------------------------------------------------------------


def routing_rule(arch, c):
    if arch == "deepseek_v2":
        if c.get("topk_method", "greedy") == "group_limited_greedy":
            return {"score": "softmax", "group": "max", "n_group": c["n_group"], "topk_group": c["topk_group"],
                    "norm": False, "scale": float(c.get("routed_scaling_factor", 1.0))}
        assert c.get("topk_method", "greedy") == "greedy", c.get("topk_method")
        return {"score": "softmax", "group": None, "norm": False, "scale": float(c.get("routed_scaling_factor", 1.0))}
    if arch == "glm4_moe":
        return {"score": "sigmoid_bias", "group": "top2_sum" if c.get("n_group", 1) > 1 else None,
                "n_group": c.get("n_group", 1), "topk_group": c.get("topk_group", 1),
                "norm": bool(c.get("norm_topk_prob", True)), "scale": float(c.get("routed_scaling_factor", 1.0))}
    return {"score": "softmax", "group": None, "norm": bool(c.get("norm_topk_prob", False)), "scale": 1.0}


def describe_rule(r):
    if r["score"] == "softmax":
        s = "softmax probability"
    else:
        s = "sigmoid + e_score_correction_bias"
    if r["group"] == "max":
        s += f"; groups ({r['n_group']}, keep {r['topk_group']}) by the max probability in the group"
    elif r["group"] == "top2_sum":
        s += f"; groups ({r['n_group']}, keep {r['topk_group']}) by the sum of the group's top-2 biased scores"
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", help="output folder; one sub-folder per fixture")
    ap.add_argument("--only", help="comma-separated fixture names (default: all): " + ", ".join(FIXTURES))
    ap.add_argument("--dry-run", action="store_true",
                    help="no torch: write config.json, read it back through transformers' config class, check shapes")
    args = ap.parse_args()
    names = list(FIXTURES) if not args.only else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in FIXTURES]
    if unknown:
        sys.exit(f"unknown fixture(s) {unknown}; known: {list(FIXTURES)}")
    for n in FIXTURES.values():
        arch, c = n[0], n[1]
        r = routing_rule(arch, c)
        if r["group"]:
            E = num_experts(c)
            assert E % r["n_group"] == 0, "experts must split evenly into groups"
            assert r["topk_group"] < r["n_group"], "a group boundary needs an unselected group"
            assert E // r["n_group"] * r["topk_group"] > c["num_experts_per_tok"], \
                "the selected groups must hold more than top_k experts (else the k-th/k+1-th margin is undefined)"
    if args.dry_run:
        for name in names:
            dry_run(name, args.out)
        return
    run = Runner(args.out)
    for name in names:
        run.make(name)


def write_config(d, arch, c, spelling):
    import transformers
    if spelling == "vendor":
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(c, f, indent=2)
    else:
        assert spelling == "transformers", spelling
        cfg = transformers.CONFIG_MAPPING[c["model_type"]](**{k: v for k, v in c.items() if k != "model_type"})
        cfg.save_pretrained(d)
    return transformers.AutoConfig.from_pretrained(d)


def check_config(name, arch, c, cfg):
    """What transformers read from config.json must be the model the builder made."""
    spec = tensor_spec(arch, c)
    want, moe = expected_spec_from_config(arch, cfg)
    got = {k: v[0] for k, v in spec.items()}
    assert got == want, f"{name}: builder and transformers' config disagree: " + json.dumps(
        {"only_builder": sorted(set(got) - set(want))[:10], "only_config": sorted(set(want) - set(got))[:10],
         "shape": [(k, got[k], want[k]) for k in got if k in want and got[k] != want[k]][:10]})
    assert moe == moe_layer_indices(arch, c), f"{name}: MoE layers {moe} != {moe_layer_indices(arch, c)}"
    assert cfg.num_experts_per_tok == c["num_experts_per_tok"]
    if arch == "deepseek_v2":
        rp = cfg.rope_parameters
        assert rp["rope_type"] == "yarn" and rp["factor"] == (c.get("rope_scaling") or c.get("rope_parameters"))["factor"], rp
        assert cfg.topk_method == c["topk_method"] and cfg.routed_scaling_factor == c["routed_scaling_factor"]
        assert cfg.head_dim == c["qk_rope_head_dim"], "transformers rotates head_dim = qk_rope_head_dim"
    if arch == "glm4_moe":
        assert cfg.rope_parameters.get("partial_rotary_factor") == c["partial_rotary_factor"], cfg.rope_parameters
        assert cfg.head_dim == c["head_dim"] and cfg.n_group == c["n_group"] and cfg.use_qk_norm
    return spec, moe


def dry_run(name, out):
    arch, c, spelling, store, shards, prompt_lens, new_tokens = FIXTURES[name]
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    cfg = write_config(d, arch, c, spelling)
    spec, moe = check_config(name, arch, c, cfg)
    params = sum(math.prod(s) for s, _ in spec.values())
    print(f"{name}: {type(cfg).__name__}, {len(spec)} tensors, {params:,} parameters, MoE layers {moe}, "
          f"routing: {describe_rule(routing_rule(arch, c))}, rope {getattr(cfg, 'rope_parameters', None)}")


class Runner:
    """The torch part: weights, checkpoint files, reference, self-check."""

    def __init__(self, out):
        import torch
        import transformers
        from safetensors.torch import save_file
        self.torch, self.transformers, self.save_file, self.out = torch, transformers, save_file, out

    # --- weights --------------------------------------------------------------------------------------------------
    def weights(self, name, spec):
        torch = self.torch
        g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
        std = {"embed": 1.0, "head": 0.2, "w": 0.2, "bias": 0.1, "gate": 0.3, "corr_bias": 0.1}
        t = {}
        for n, (shape, kind) in spec.items():
            if kind == "norm":
                x = 1.0 + 0.2 * torch.randn(*shape, generator=g)
            else:
                x = torch.randn(*shape, generator=g) * std[kind]
            t[n] = x.to(torch.bfloat16)  # bf16-exact values whatever the stored dtype
        return t

    def write_checkpoint(self, d, tensors, store_dtype, shards):
        torch = self.torch
        names = list(tensors)
        per = (len(names) + shards - 1) // shards
        weight_map, total = {}, 0
        for s in range(shards):
            part = names[s * per:(s + 1) * per]
            fname = "model.safetensors" if shards == 1 else f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            out = {}
            for n in part:
                # The Hub keeps the correction bias in float32 (GLM-4.5, DeepSeek-V3): so do we, whatever the rest.
                dt = torch.float32 if n.endswith("e_score_correction_bias") else getattr(torch, store_dtype)
                out[n] = tensors[n].to(dt).contiguous()
            self.save_file(out, os.path.join(d, fname), metadata={"format": "pt"})
            total += sum(t.numel() * t.element_size() for t in out.values())
            for n in part:
                weight_map[n] = fname
        if shards > 1:
            with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
                json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=1)

    def load(self, d, name):
        torch = self.torch
        model, info = self.transformers.AutoModelForCausalLM.from_pretrained(
            d, dtype=torch.float32, attn_implementation="eager", experts_implementation="eager",
            output_loading_info=True)
        bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys",
                                                               "error_msgs")}
        assert not bad, f"{name}: checkpoint does not load cleanly: {bad}"
        model.eval()
        return model

    def check_loaded(self, name, model, tensors):
        """Every tensor written is in the model, bit for bit (per-expert tensors inside the fused experts)."""
        torch = self.torch
        sd = model.state_dict()
        fused = re.compile(r"(.*\.mlp\.experts)\.(\d+)\.(gate|up|down)_proj\.weight$")
        for n, t in tensors.items():
            want = t.float()
            m = fused.match(n)
            if m:
                e = int(m.group(2))
                if m.group(3) == "down":
                    got = sd[m.group(1) + ".down_proj"][e]
                else:
                    gu = sd[m.group(1) + ".gate_up_proj"][e]
                    half = gu.shape[0] // 2
                    got = gu[:half] if m.group(3) == "gate" else gu[half:]
            else:
                assert n in sd, f"{name}: {n} is not a model tensor"
                got = sd[n]
            assert tuple(got.shape) == tuple(want.shape), f"{name}: {n} shape {tuple(got.shape)} != {tuple(want.shape)}"
            assert torch.equal(got.float(), want), f"{name}: {n} differs after loading"

    # --- reference ------------------------------------------------------------------------------------------------
    def install_capture(self, model, moe_layers):
        calls = {i: [] for i in moe_layers}
        logits = {i: [] for i in moe_layers}
        names = ("hidden_states", "top_k_index", "top_k_weights")

        def experts_in(i, module, args, kwargs):
            vals = list(args) + [kwargs[n] for n in names[len(args):] if n in kwargs]
            assert len(vals) >= 3, f"layer {i}: experts called with {len(args)} args and {sorted(kwargs)}"
            calls[i].append((vals[1].detach().clone(), vals[2].detach().float().clone(), tuple(vals[0].shape)))

        def gate_out(i, module, args, output):
            logits[i].append(output[0].detach().float().clone())

        for li, layer in enumerate(model.model.layers):
            has = hasattr(layer.mlp, "experts")
            assert has == (li in calls), f"layer {li}: transformers built {'an MoE' if has else 'a dense'} block"
            if has:
                layer.mlp.experts.register_forward_pre_hook(functools.partial(experts_in, li), with_kwargs=True)
                layer.mlp.gate.register_forward_hook(functools.partial(gate_out, li))
        return calls, logits

    def selection(self, rule, lg, bias, k):
        """(score used for choosing, margin per token, chosen ids as sets, chosen ids without the group limit)."""
        torch = self.torch
        T, E = lg.shape
        if rule["score"] == "softmax":
            s = torch.softmax(lg, dim=-1)
        else:
            s = torch.sigmoid(lg) + bias
        margin = torch.full((T,), float("inf"))
        cand = s
        if rule["group"]:
            G, TG = rule["n_group"], rule["topk_group"]
            gs = s.view(T, G, E // G)
            gscore = gs.max(dim=-1).values if rule["group"] == "max" else gs.topk(2, dim=-1)[0].sum(dim=-1)
            gsorted = torch.sort(gscore, dim=-1, descending=True).values
            margin = torch.minimum(margin, gsorted[:, TG - 1] - gsorted[:, TG])
            keep = torch.zeros_like(gscore).scatter_(1, torch.topk(gscore, TG, dim=-1)[1], 1.0).bool()
            keep = keep.unsqueeze(-1).expand(T, G, E // G).reshape(T, E)
            # DeepSeek-V2 fills the others with 0 (its probabilities are > 0), V3 / GLM with -inf: same choice.
            cand = s.masked_fill(~keep, float("-inf"))
        srt = torch.sort(cand, dim=-1, descending=True).values
        margin = torch.minimum(margin, srt[:, k - 1] - srt[:, k])
        assert bool(torch.isfinite(margin).all()), "margin must be finite (more candidates than top_k)"
        chosen = torch.topk(cand, k, dim=-1)[1]
        free = torch.topk(s, k, dim=-1)[1]
        return s, margin, chosen, free

    def run_case(self, model, prompt, new_tokens, calls, logits):
        torch = self.torch
        ids = list(prompt)
        out, margins = [], []
        with torch.no_grad():
            for _ in range(new_tokens):
                lg = model(torch.tensor([ids])).logits[0, -1].float()
                top2 = torch.topk(lg, 2).values
                nxt = int(torch.argmax(lg))
                margins.append(float(top2[0] - top2[1]))
                out.append(nxt)
                ids.append(nxt)
            seq = list(prompt) + out[:-1]
            for v in calls.values():
                v.clear()
            for v in logits.values():
                v.clear()
            lg = model(torch.tensor([seq])).logits[0].float()
        lp = torch.log_softmax(lg, dim=-1)
        out_lp = [float(lp[len(prompt) - 1 + j, out[j]]) for j in range(len(out))]
        return seq, out, out_lp, margins

    def reference(self, name, model, arch, c, moe_layers, prompts, new_tokens):
        torch = self.torch
        calls, logits = self.install_capture(model, moe_layers)
        k, E = c["num_experts_per_tok"], num_experts(c)
        rule = routing_rule(arch, c)
        cases, coverage = [], {"tokens": 0, "group_limit_changed": 0, "bias_changed": 0, "below_1e-4": 0}
        for prompt in prompts:
            seq, out, out_lp, gmargins = self.run_case(model, prompt, new_tokens, calls, logits)
            T = len(seq)
            per_layer = []
            for i in moe_layers:
                assert len(calls[i]) == 1, f"{name} layer {i}: experts hook fired {len(calls[i])} times, want 1"
                assert len(logits[i]) == 1, f"{name} layer {i}: gate hook fired {len(logits[i])} times, want 1"
                ids, w, hshape = calls[i][0]
                lg = logits[i][0]
                assert hshape == (T, c["hidden_size"]), f"{name} layer {i}: experts input {hshape}, want {(T, c['hidden_size'])}"
                assert tuple(ids.shape) == (T, k) and tuple(w.shape) == (T, k), \
                    f"{name} layer {i}: ids {tuple(ids.shape)} weights {tuple(w.shape)}, want {(T, k)}"
                assert tuple(lg.shape) == (T, E), f"{name} layer {i}: router logits {tuple(lg.shape)}, want {(T, E)}"
                assert int(ids.min()) >= 0 and int(ids.max()) < E, f"{name} layer {i}: expert id out of range"
                assert all(len(set(r)) == k for r in ids.tolist()), f"{name} layer {i}: repeated expert in a row"
                assert bool(torch.isfinite(w).all()) and bool((w > 0).all()), f"{name} layer {i}: bad weights"
                # Sorted by the weight the layer combines with, descending (stable: ties keep transformers' order).
                order = torch.sort(w, dim=-1, descending=True, stable=True)[1]
                ids_s, w_s = ids.gather(1, order), w.gather(1, order)
                bias = model.model.layers[i].mlp.gate.e_score_correction_bias.detach().float() \
                    if rule["score"] == "sigmoid_bias" else None
                s, margin, chosen, free = self.selection(rule, lg, bias, k)
                # Cross-check (not the record): the captured ids are the rule's choice, and the captured weights are
                # the rule's weights, wherever the choice is not a near tie.
                probs = torch.softmax(lg, dim=-1) if rule["score"] == "softmax" else torch.sigmoid(lg)
                ew = probs.gather(1, ids_s)
                if rule["norm"]:
                    ew = ew / (ew.sum(dim=-1, keepdim=True) + (1e-20 if arch == "glm4_moe" else 0.0))
                ew = ew * rule["scale"]
                for tok in range(T):
                    same = set(ids[tok].tolist()) == set(chosen[tok].tolist())
                    assert same or float(margin[tok]) < 1e-5, \
                        f"{name} layer {i} token {tok}: captured {sorted(ids[tok].tolist())} but the rule picks " \
                        f"{sorted(chosen[tok].tolist())} with margin {float(margin[tok])}"
                    coverage["tokens"] += 1
                    coverage["group_limit_changed"] += set(chosen[tok].tolist()) != set(free[tok].tolist()) \
                        if rule["group"] else 0
                    coverage["below_1e-4"] += float(margin[tok]) < 1e-4
                if rule["score"] == "sigmoid_bias":
                    # The bias alone (no group limit on either side) changes which experts win.
                    unbiased = torch.topk(torch.sigmoid(lg), k, dim=-1)[1]
                    coverage["bias_changed"] += sum(set(a) != set(b) for a, b in
                                                    zip(unbiased.tolist(), free.tolist()))
                werr = float((ew - w_s).abs().max())
                assert werr <= 1e-5 * max(1.0, rule["scale"]), f"{name} layer {i}: weights differ from the rule by {werr}"
                per_layer.append((ids_s, w_s, margin))
            cases.append({
                "prompt_ids": list(prompt), "output_ids": out, "output_logprobs": out_lp, "greedy_margin": gmargins,
                "num_routed_tokens": T,
                "topk_ids": [[[int(x) for x in per_layer[l][0][t]] for l in range(len(moe_layers))] for t in range(T)],
                "topk_weights": [[[float(x) for x in per_layer[l][1][t]] for l in range(len(moe_layers))]
                                 for t in range(T)],
                "topk_margin": [[float(per_layer[l][2][t]) for l in range(len(moe_layers))] for t in range(T)]})
        return {
            "generator": f"transformers {self.transformers.__version__}, torch {torch.__version__}, float32 CPU, eager "
                         f"attention and experts; routing captured at the experts' inputs",
            "architecture": arch, "top_k": k, "num_experts": E, "norm_topk_prob": rule["norm"],
            "routed_scaling_factor": rule["scale"], "moe_layers": len(moe_layers), "moe_layer_indices": moe_layers,
            "selection": describe_rule(rule),
            "layout": "topk_ids[token][moe_layer][k], sorted by combine weight, descending; tokens = prompt + "
                      "output[:-1]; topk_weights are the weights transformers multiplies expert outputs by (scaling "
                      "included); shared experts are always on and not listed; topk_margin is the k-th minus the "
                      "(k+1)-th selection score among the candidates, or the group boundary if smaller",
            "coverage": coverage, "cases": cases}

    # --- one fixture ----------------------------------------------------------------------------------------------
    def make(self, name):
        torch = self.torch
        arch, c, spelling, store, shards, prompt_lens, new_tokens = FIXTURES[name]
        d = os.path.join(self.out, name)
        os.makedirs(d, exist_ok=True)
        cfg = write_config(d, arch, c, spelling)
        spec, moe_layers = check_config(name, arch, c, cfg)
        tensors = self.weights(name, spec)
        self.write_checkpoint(d, tensors, store, shards)
        model = self.load(d, name)
        self.check_loaded(name, model, tensors)
        g = torch.Generator().manual_seed(zlib.crc32(name.encode()) + 1)
        prompts = [torch.randint(0, c["vocab_size"], (n,), generator=g).tolist() for n in prompt_lens]
        ref = self.reference(name, model, arch, c, moe_layers, prompts, new_tokens)
        with open(os.path.join(d, "reference.json"), "w") as f:
            json.dump(ref, f)
        del model
        # Self-check: a fresh load of what was written reproduces the first case exactly.
        again = self.load(d, name)
        first = self.reference(name, again, arch, c, moe_layers, prompts[:1], new_tokens)["cases"][0]
        ref0 = ref["cases"][0]
        assert first["output_ids"] == ref0["output_ids"], f"{name}: reloaded model generates differently"
        assert first["topk_ids"] == ref0["topk_ids"], f"{name}: reloaded model routes differently"
        werr = max(abs(a - b) for ta, tb in zip(first["topk_weights"], ref0["topk_weights"])
                   for la, lb in zip(ta, tb) for a, b in zip(la, lb))
        assert werr <= 1e-6, f"{name}: reloaded model's routing weights differ by {werr}"
        cov = ref["coverage"]
        print(f"{name}: MoE layers {moe_layers}, cases {[(len(x['prompt_ids']), len(x['output_ids'])) for x in ref['cases']]}"
              f", routing {cov}, min greedy margin {min(min(x['greedy_margin']) for x in ref['cases']):.3g}")
        rule = routing_rule(arch, c)
        if rule["group"] and cov["group_limit_changed"] == 0:
            print(f"WARNING {name}: the group limit never changed a selection; the fixture does not test it")
        if rule["score"] == "sigmoid_bias" and cov["bias_changed"] == 0:
            print(f"WARNING {name}: the correction bias never changed a selection; the fixture does not test it")


if __name__ == "__main__":
    main()
