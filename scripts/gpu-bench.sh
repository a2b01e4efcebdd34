#!/usr/bin/env bash
# The CUDA backend's benchmark and the transformers peer, on the same GPU in one call (repository root):
#   scripts/gpu-bench.sh [BUNDLE] [LAYERS] [CONFIG]
#     LAYERS: a number, or "auto" (as many as fit with K/V for the largest batch; default auto); both runs use the
#     same layer count. CONFIG: a Hugging Face config.json of another shape (default Qwen3-30B-A3B), e.g.
#     examples/glm-4.5-air-config.json. CUDA_BATCHES / HF_BATCHES pick the batch sizes (default 1,32,128,256).
#     CUDA_GEMM_INPUTS=bf16 runs the CUDA backend with --gemm-inputs bf16 (transformers runs bf16 either way).
# Writes logs under $OUT when set. Prints the two tables last, then the ratios of their prefill and decode tokens/s
# per batch.
set -uo pipefail
bundle="${1:-.gpu/bundle}"
layers="${2:-auto}"
config="${3:-}"
out="${OUT:-/tmp}"
mkdir -p "$out"
"$bundle/run" bench --layers "$layers" --batches "${CUDA_BATCHES:-1,32,128,256}" ${config:+--config "$config"} --gemm-inputs "${CUDA_GEMM_INPUTS:-split}" --csv "$out/cuda-bench.txt" 2>&1 | tee "$out/cuda-bench.log"
used=$(sed -n 's/^layers=//p' "$out/cuda-bench.txt" 2>/dev/null || echo 8)
PYTHONUNBUFFERED=1 python3 "$(dirname "$0")/../bench/hf_decode.py" --layers "${used:-8}" --batches "${HF_BATCHES:-1,32,128,256}" \
  --steps "${HF_STEPS:-12}" --budget "${HF_BUDGET:-200}" ${config:+--config "$config"} 2>&1 | tee "$out/hf-bench.log"
echo
echo "==== CUDA backend ===="; sed -n '/^CUDA backend, /,$p' "$out/cuda-bench.log"
echo "==== transformers ===="; sed -n '/^Hugging Face transformers, /,$p' "$out/hf-bench.log"
echo "==== CUDA (${CUDA_GEMM_INPUTS:-split} GEMM inputs) ÷ transformers, prefill and decode tokens/s (same layer count, same GPU, same call) ===="
python3 - "$out/cuda-bench.txt" "$out/hf-bench.log" <<'PY'
import re, sys
cuda_text, hf_text = open(sys.argv[1]).read(), open(sys.argv[2]).read()
cuda = {int(m.group(1)): (float(m.group(2)), float(m.group(3)))
        for m in re.finditer(r"^decode \(median step\)\s+(\d+)\s+([\d.]+)\s+([\d.]+)", cuda_text, re.M)}
hf = {int(m.group(1)): (float(m.group(2)), float(m.group(3)))
      for m in re.finditer(r"^HF batch\s+(\d+):.*decode\s+([\d.]+) ms/step\s+([\d.]+) tokens/s", hf_text, re.M)}
cuda_prefill = {int(m.group(1)): float(m.group(2))
                for m in re.finditer(r"^prefill \(\d+ tokens\)\s+(\d+)\s+\S+\s+([\d.]+)", cuda_text, re.M)}
hf_prefill = {int(m.group(1)): float(m.group(2))
              for m in re.finditer(r"^HF batch\s+(\d+): prefill\s+([\d.]+) tokens/s", hf_text, re.M)}
print(f"{'batch':>6} {'CUDA prefill':>13} {'HF prefill':>11} {'ratio':>7} {'CUDA ms/step':>13} {'HF ms/step':>11} "
      f"{'CUDA tok/s':>11} {'HF tok/s':>9} {'ratio':>7}")
for b in sorted(cuda):
    if b in hf:
        (cm, ct), (hm, ht) = cuda[b], hf[b]
        cp, hp = cuda_prefill.get(b), hf_prefill.get(b)
        pre = f"{cp:>13.0f} {hp:>11.0f} {cp / hp:>6.2f}x" if cp and hp else f"{'-':>13} {'-':>11} {'-':>7}"
        print(f"{b:>6} {pre} {cm:>13.2f} {hm:>11.2f} {ct:>11.0f} {ht:>9.0f} {ct / ht:>6.1f}x")
PY
