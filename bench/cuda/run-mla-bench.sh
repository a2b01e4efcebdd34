#!/usr/bin/env bash
# Builds and runs bench/cuda/mla_bench.cu (mla_attention_bf16 against its CPU reference, then timed) from the
# repository root, on a machine with nvcc and a Hopper GPU:
#   bench/cuda/run-mla-bench.sh [ctx [tokens ...]]      default: 770 1 32 256
#   bench/cuda/run-mla-bench.sh --compile-only          build only (needs nvcc, no GPU)
# Writes the binary and, when $OUT is set, the log (mla-bench.log) there. Exit status: the benchmark's.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${OUT:-/tmp}"
mkdir -p "$out"
bin="$out/mla_bench"
nvcc -O3 -std=c++17 -arch=sm_90 -o "$bin" "$root/bench/cuda/mla_bench.cu"
if [ "${1:-}" = "--compile-only" ]; then
  echo "built $bin"
  exit 0
fi
"$bin" "$@" 2>&1 | tee "$out/mla-bench.log"
exit "${PIPESTATUS[0]}"
