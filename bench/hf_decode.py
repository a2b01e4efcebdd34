"""Hugging Face transformers on the Qwen3-30B-A3B shape (random bf16 weights on the GPU): prefill tokens/s and
greedy decode ms/step per batch size, the peer the CUDA backend is compared with (scripts/gpu-bench.sh runs both
in one device call).

usage: python3 bench/hf_decode.py --layers 48 --batches 1,32,128 --prompt 512 --steps 16 --budget 240 [--config CFG.json]
--config runs another shape (a Hugging Face config.json, e.g. examples/glm-4.5-air-config.json; its layer count is
replaced by --layers), built by transformers' own classes for its model_type.
"""
import argparse
import json
import os
import time

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM, DynamicCache, Qwen3MoeConfig, Qwen3MoeForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=48)
    ap.add_argument("--batches", default="1,32,128")
    ap.add_argument("--prompt", type=int, default=512)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--budget", type=float, default=240.0, help="seconds; later batch sizes are skipped past it")
    ap.add_argument("--config", default=None, help="a config.json of the shape to run (default Qwen3-30B-A3B)")
    ap.add_argument("--experts", default=None, help="experts backend (grouped_mm, eager, batched_mm); default: transformers' own")
    a = ap.parse_args()
    t_start = time.time()
    if a.config:
        d = {k: v for k, v in json.load(open(a.config)).items() if not k.startswith("_")}
        d["num_hidden_layers"] = a.layers
        cfg = AutoConfig.for_model(d.pop("model_type"), **d)
        shape = os.path.basename(a.config)
    else:
        cfg = None
        shape = "Qwen3-30B-A3B shape"
    cfg = cfg or Qwen3MoeConfig(vocab_size=151936, hidden_size=2048, num_hidden_layers=a.layers, num_attention_heads=32,
                         num_key_value_heads=4, head_dim=128, intermediate_size=6144, moe_intermediate_size=768,
                         num_experts=128, num_experts_per_tok=8, norm_topk_prob=True, max_position_embeddings=40960,
                         tie_word_embeddings=False)
    if a.experts:
        cfg._experts_implementation = a.experts
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(cfg) if a.config else Qwen3MoeForCausalLM(cfg)
    model.eval()
    impl = {k: getattr(model.config, k, None) for k in ("_attn_implementation", "_experts_implementation")}
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, {torch.cuda.get_device_name()}, "
          f"{a.layers} layers, {sum(p.numel() for p in model.parameters()) / 1e9:.2f}B params, {impl}, "
          f"init {time.time() - t_start:.1f}s", flush=True)
    rows = []
    for b in [int(x) for x in a.batches.split(",")]:
        if time.time() - t_start > a.budget:
            rows.append(f"HF batch {b}: skipped (time budget {a.budget:.0f}s spent)")
            continue
        ids = torch.randint(0, cfg.vocab_size, (b, a.prompt), device="cuda")
        with torch.no_grad():
            cache = DynamicCache(config=cfg)
            torch.cuda.synchronize()
            t = time.time()
            out = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
            torch.cuda.synchronize()
            prefill = time.time() - t
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            times = []
            for _ in range(a.steps):
                torch.cuda.synchronize()
                t = time.time()
                out = model(input_ids=nxt, past_key_values=out.past_key_values, use_cache=True, logits_to_keep=1)
                nxt = out.logits[:, -1].argmax(-1, keepdim=True)
                torch.cuda.synchronize()
                times.append(time.time() - t)
        times = sorted(times[1:])
        med = times[len(times) // 2] * 1e3
        rows.append(f"HF batch {b:4d}: prefill {b * a.prompt / prefill:9.0f} tokens/s   decode {med:9.2f} ms/step "
                    f"{b / med * 1e3:9.0f} tokens/s   (median of {len(times)} steps at context ~{a.prompt})")
        print(rows[-1], flush=True)
        del out, cache
        torch.cuda.empty_cache()
    print()
    print(f"Hugging Face transformers, {shape} with {a.layers} layers, random bf16 weights, "
          f"prompt {a.prompt}, {torch.cuda.get_device_name()}")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
