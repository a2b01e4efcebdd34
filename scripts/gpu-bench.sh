#!/usr/bin/env bash
# The CUDA backend's benchmark and the transformers peer, on the same GPU in one call (repository root):
#   scripts/gpu-bench.sh [BUNDLE] [LAYERS]   LAYERS: a number, or "auto" (as many of the 48 as fit with K/V for
#                                             batch 256; default auto). Both runs use the same layer count.
# Writes logs under $OUT when set. Prints the two tables last, then the ratio of their decode tokens/s per batch.
set -uo pipefail
bundle="${1:-.gpu/bundle}"
layers="${2:-auto}"
out="${OUT:-/tmp}"
mkdir -p "$out"
"$bundle/run" bench --layers "$layers" --csv "$out/cuda-bench.txt" 2>&1 | tee "$out/cuda-bench.log"
used=$(sed -n 's/^layers=//p' "$out/cuda-bench.txt" 2>/dev/null || echo 8)
PYTHONUNBUFFERED=1 python3 "$(dirname "$0")/../bench/hf_decode.py" --layers "${used:-8}" --batches "${HF_BATCHES:-1,32,128,256}" \
  --steps "${HF_STEPS:-12}" --budget "${HF_BUDGET:-200}" 2>&1 | tee "$out/hf-bench.log"
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
