#!/usr/bin/env bash
# The CUDA backend's benchmark and the transformers peer, on the same GPU in one call (repository root):
#   scripts/gpu-bench.sh [BUNDLE] [LAYERS] [CONFIG]
#     LAYERS: a number, or "auto" (as many as fit with K/V for the largest batch; default auto); both runs use the
#     same layer count. CONFIG: a Hugging Face config.json of another shape (default Qwen3-30B-A3B), e.g.
#     examples/glm-4.5-air-config.json. CUDA_BATCHES / HF_BATCHES pick the batch sizes (default 1,32,128,256).
# Writes logs under $OUT when set. Prints the two tables last, then the ratio of their decode tokens/s per batch.
set -uo pipefail
bundle="${1:-.gpu/bundle}"
layers="${2:-auto}"
config="${3:-}"
out="${OUT:-/tmp}"
mkdir -p "$out"
"$bundle/run" bench --layers "$layers" --batches "${CUDA_BATCHES:-1,32,128,256}" ${config:+--config "$config"} --csv "$out/cuda-bench.txt" 2>&1 | tee "$out/cuda-bench.log"
used=$(sed -n 's/^layers=//p' "$out/cuda-bench.txt" 2>/dev/null || echo 8)
PYTHONUNBUFFERED=1 python3 "$(dirname "$0")/../bench/hf_decode.py" --layers "${used:-8}" --batches "${HF_BATCHES:-1,32,128,256}" \
  --steps "${HF_STEPS:-12}" --budget "${HF_BUDGET:-200}" ${config:+--config "$config"} 2>&1 | tee "$out/hf-bench.log"
echo
echo "==== CUDA backend ===="; sed -n '/^CUDA backend, /,$p' "$out/cuda-bench.log"
echo "==== transformers ===="; sed -n '/^Hugging Face transformers, /,$p' "$out/hf-bench.log"
echo "==== CUDA ÷ transformers, decode tokens/s (same layer count, same GPU, same call) ===="
python3 - "$out/cuda-bench.txt" "$out/hf-bench.log" <<'PY'
import re, sys
cuda = {int(m.group(1)): (float(m.group(2)), float(m.group(3)))
        for m in re.finditer(r"^decode \(median step\)\s+(\d+)\s+([\d.]+)\s+([\d.]+)", open(sys.argv[1]).read(), re.M)}
hf = {int(m.group(1)): (float(m.group(2)), float(m.group(3)))
      for m in re.finditer(r"^HF batch\s+(\d+):.*decode\s+([\d.]+) ms/step\s+([\d.]+) tokens/s", open(sys.argv[2]).read(), re.M)}
print(f"{'batch':>6} {'CUDA ms/step':>13} {'HF ms/step':>11} {'CUDA tok/s':>11} {'HF tok/s':>9} {'ratio':>7}")
for b in sorted(cuda):
    if b in hf:
        (cm, ct), (hm, ht) = cuda[b], hf[b]
        print(f"{b:>6} {cm:>13.2f} {hm:>11.2f} {ct:>11.0f} {ht:>9.0f} {ct / ht:>6.1f}x")
PY
