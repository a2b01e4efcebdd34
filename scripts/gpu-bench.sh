#!/usr/bin/env bash
# The CUDA backend's benchmark and the transformers peer, on the same GPU in one call (repository root):
#   scripts/gpu-bench.sh [BUNDLE] [LAYERS]   LAYERS: a number, or "auto" (as many of the 48 as fit with K/V for
#                                             batch 256; default auto). Both runs use the same layer count.
# Writes logs under $OUT when set. Prints the two tables last.
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
