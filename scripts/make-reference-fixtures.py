#!/usr/bin/env python3
"""Builds extra tiny MoE checkpoints in the Hugging Face Hub layout and computes transformers' float32 reference
(greedy tokens, logprobs, top-k routing per token and MoE layer) in the same format as fixtures/*/reference.json.

Runs where torch + transformers are installed (the GPU machine; compute is on its CPU, float32, eager attention):
    python3 scripts/make-reference-fixtures.py OUT_DIR
The checkpoint files are written first (Hub naming: per-expert tensors), then loaded back with from_pretrained, so
the reference is computed from exactly the bytes a user's engine reads. Covered on purpose: OLMoE (full-width q/k
norm, no top-k renormalisation), a Qwen3-MoE with dense layers mixed in (mlp_only_layers), more than 256 experts
(uint16 ids), vendor-style config.json spelling, float32 tensors in sharded files, a 1,500-token prompt.
"""
import json, os, sys
import torch
import transformers
from safetensors.torch import save_file

torch.manual_seed(1234)
OUT = sys.argv[1]


def bf16(t):
    return t.to(torch.bfloat16)


def rnd(*shape, std=0.05):
    return bf16(torch.randn(*shape) * std)


def norm_w(n):
    return bf16(1.0 + 0.2 * torch.randn(n))


def build_tensors(arch, c):
    H, L, E = c["hidden_size"], c["num_hidden_layers"], c.get("num_experts", c.get("num_local_experts"))
    heads, kv = c["num_attention_heads"], c["num_key_value_heads"]
    hd = c.get("head_dim") or H // heads
    t = {"model.embed_tokens.weight": rnd(c["vocab_size"], H, std=1.0), "model.norm.weight": norm_w(H)}
    if not c.get("tie_word_embeddings", False):
        t["lm_head.weight"] = rnd(c["vocab_size"], H, std=0.2)
    mlp_only = set(c.get("mlp_only_layers", []))
    step = c.get("decoder_sparse_step", 1)
    moe_layers = []
    for i in range(L):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = norm_w(H)
        t[p + "post_attention_layernorm.weight"] = norm_w(H)
        t[p + "self_attn.q_proj.weight"] = rnd(heads * hd, H, std=0.2)
        t[p + "self_attn.k_proj.weight"] = rnd(kv * hd, H, std=0.2)
        t[p + "self_attn.v_proj.weight"] = rnd(kv * hd, H, std=0.2)
        t[p + "self_attn.o_proj.weight"] = rnd(H, heads * hd, std=0.2)
        if arch == "olmoe":
            t[p + "self_attn.q_norm.weight"] = norm_w(heads * hd)
            t[p + "self_attn.k_norm.weight"] = norm_w(kv * hd)
        else:
            t[p + "self_attn.q_norm.weight"] = norm_w(hd)
            t[p + "self_attn.k_norm.weight"] = norm_w(hd)
        is_moe = i not in mlp_only and (i + 1) % step == 0
        if is_moe:
            moe_layers.append(i)
            I = c["moe_intermediate_size"] if arch == "qwen3_moe" else c["intermediate_size"]
            t[p + "mlp.gate.weight"] = rnd(E, H, std=0.5)
            for e in range(E):
                t[p + f"mlp.experts.{e}.gate_proj.weight"] = rnd(I, H, std=0.2)
                t[p + f"mlp.experts.{e}.up_proj.weight"] = rnd(I, H, std=0.2)
                t[p + f"mlp.experts.{e}.down_proj.weight"] = rnd(H, I, std=0.2)
        else:
            I = c["intermediate_size"]
            t[p + "mlp.gate_proj.weight"] = rnd(I, H, std=0.2)
            t[p + "mlp.up_proj.weight"] = rnd(I, H, std=0.2)
            t[p + "mlp.down_proj.weight"] = rnd(H, I, std=0.2)
    return t, moe_layers


def write_checkpoint(d, tensors, store_dtype, shards):
    names = sorted(tensors)
    per = (len(names) + shards - 1) // shards
    weight_map = {}
    for s in range(shards):
        part = names[s * per:(s + 1) * per]
        fname = "model.safetensors" if shards == 1 else f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        save_file({n: tensors[n].to(store_dtype).contiguous() for n in part}, os.path.join(d, fname),
                  metadata={"format": "pt"})
        for n in part:
            weight_map[n] = fname
    if shards > 1:
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=1)


@torch.no_grad()
def reference(model, arch, c, moe_layers, prompts, new_tokens):
    gates = []
    captured = {}
    for i in moe_layers:
        gate = model.model.layers[i].mlp.gate
        W = gate.weight.detach().float()
        gates.append(W)

        def hook(mod, inp, i=i):
            captured[i] = inp[0].detach().float().reshape(-1, inp[0].shape[-1])
        gate.register_forward_pre_hook(hook)
    top_k = c["num_experts_per_tok"]
    norm = True if arch == "mixtral" else c.get("norm_topk_prob", False)
    cases = []
    for prompt in prompts:
        ids = list(prompt)
        out, margins = [], []
        for _ in range(new_tokens):
            logits = model(torch.tensor([ids])).logits[0, -1].float()
            top2 = torch.topk(logits, 2).values
            nxt = int(torch.argmax(logits))
            margins.append(float(top2[0] - top2[1]))
            out.append(nxt)
            ids.append(nxt)
        seq = list(prompt) + out[:-1]
        logits = model(torch.tensor([seq])).logits[0].float()
        lp = torch.log_softmax(logits, dim=-1)
        out_lp = [float(lp[len(prompt) - 1 + j, out[j]]) for j in range(len(out))]
        topk_ids, topk_w, topk_m = [], [], []
        per_layer = []
        for li, i in enumerate(moe_layers):
            probs = torch.softmax(captured[i] @ gates[li].T, dim=-1)
            sp, si = torch.sort(probs, dim=-1, descending=True, stable=True)
            w = sp[:, :top_k]
            if norm:
                w = w / w.sum(dim=-1, keepdim=True)
            per_layer.append((si[:, :top_k], w, sp[:, top_k - 1] - sp[:, top_k]))
        for tok in range(len(seq)):
            topk_ids.append([[int(x) for x in per_layer[l][0][tok]] for l in range(len(moe_layers))])
            topk_w.append([[float(x) for x in per_layer[l][1][tok]] for l in range(len(moe_layers))])
            topk_m.append([float(per_layer[l][2][tok]) for l in range(len(moe_layers))])
        cases.append({"prompt_ids": list(prompt), "output_ids": out, "output_logprobs": out_lp,
                      "greedy_margin": margins, "num_routed_tokens": len(seq), "topk_ids": topk_ids,
                      "topk_weights": topk_w, "topk_margin": topk_m})
    return {"generator": f"transformers {transformers.__version__}, torch {torch.__version__}, float32 CPU, eager attention",
            "architecture": arch, "top_k": top_k, "norm_topk_prob": norm, "moe_layers": len(moe_layers),
            "layout": "topk_ids[token][moe_layer][k], experts sorted by router probability, descending; tokens = prompt + output[:-1]",
            "cases": cases}


def make(name, arch, hf_config, file_config, store_dtype, shards, prompt_lens, new_tokens):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    tensors, moe_layers = build_tensors(arch, hf_config)
    write_checkpoint(d, tensors, store_dtype, shards)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(file_config, f, indent=2)
    model, info = transformers.AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32,
                                                                    attn_implementation="eager",
                                                                    output_loading_info=True)
    bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    assert not bad, f"{name}: checkpoint does not load cleanly: {bad}"
    model.eval()
    g = torch.Generator().manual_seed(len(name))
    prompts = [torch.randint(0, hf_config["vocab_size"], (n,), generator=g).tolist() for n in prompt_lens]
    ref = reference(model, arch, hf_config, moe_layers, prompts, new_tokens)
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(ref, f)
    print(name, "moe layers", moe_layers, "cases", [(len(c["prompt_ids"]), len(c["output_ids"])) for c in ref["cases"]])


# OLMoE: transformers-5 spelling, bf16, one file, full-width q/k norm, no renormalisation.
olmoe = {"architectures": ["OlmoeForCausalLM"], "model_type": "olmoe", "vocab_size": 640, "hidden_size": 48,
         "intermediate_size": 24, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2,
         "num_experts": 12, "num_experts_per_tok": 3, "norm_topk_prob": False, "rms_norm_eps": 1e-5,
         "max_position_embeddings": 2048, "rope_theta": 10000.0, "tie_word_embeddings": False,
         "dtype": "bfloat16", "eos_token_id": 639, "bos_token_id": None, "pad_token_id": 1,
         "clip_qkv": None, "attention_bias": False, "output_router_logits": False}
make("olmoe-tiny", "olmoe", olmoe, olmoe, torch.bfloat16, 1, [9, 1, 300, 1500], 12)

# Qwen3-MoE, vendor spelling (num_experts, top-level rope_theta, torch_dtype), dense layers mixed in,
# 260 experts (uint16 ids), untied lm_head, float32 tensors in 3 shards.
qwen = {"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "vocab_size": 700, "hidden_size": 32,
        "intermediate_size": 40, "moe_intermediate_size": 8, "num_hidden_layers": 5, "num_attention_heads": 4,
        "num_key_value_heads": 1, "head_dim": 16, "num_experts": 260, "num_experts_per_tok": 6,
        "norm_topk_prob": False, "mlp_only_layers": [0, 3], "decoder_sparse_step": 1, "rms_norm_eps": 1e-6,
        "max_position_embeddings": 2048, "rope_theta": 1000000.0, "tie_word_embeddings": False,
        "torch_dtype": "float32", "eos_token_id": 699, "bos_token_id": 698, "sliding_window": None,
        "use_sliding_window": False, "attention_bias": False, "output_router_logits": False}
make("qwen3-moe-mixed-tiny", "qwen3_moe", qwen, qwen, torch.float32, 3, [5, 130, 1500], 12)
