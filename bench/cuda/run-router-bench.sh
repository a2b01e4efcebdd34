#!/usr/bin/env bash
# Builds and runs bench/cuda/router_bench.cu (router_grouped against its CPU reference, then timed beside
# router_topk) from the repository root, on a machine with nvcc and a Hopper GPU:
#   bench/cuda/run-router-bench.sh [tokens ...]        default tokens: 1 32 256
#   bench/cuda/run-router-bench.sh --compile-only      build only (needs nvcc, no GPU)
# Writes the binary and, when $OUT is set, the log (router-bench.log) there. Exit status: the benchmark's (1 when
# any check fails).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${OUT:-/tmp}"
mkdir -p "$out"
bin="$out/router_bench"
nvcc -O3 -std=c++17 -arch=sm_90 -o "$bin" "$root/bench/cuda/router_bench.cu"
if [ "${1:-}" = "--compile-only" ]; then
  echo "built $bin"
  exit 0
fi
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader || true
"$bin" "$@" 2>&1 | tee "$out/router-bench.log"
exit "${PIPESTATUS[0]}"
