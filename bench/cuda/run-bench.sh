#!/usr/bin/env bash
# Builds and runs one micro-benchmark bench/cuda/NAME.cu (each checks its kernels against a CPU reference, then
# times them) from the repository root, on a machine with nvcc and a Hopper GPU:
#   bench/cuda/run-bench.sh NAME [args ...]         e.g. router_bench 1 32 256, mla_bench 770 1 32 256
#   bench/cuda/run-bench.sh NAME --compile-only     build only (needs nvcc, no GPU)
# Writes the binary and, when $OUT is set, the log (NAME.log) there. Exit status: the benchmark's (1 when any
# check fails).
set -euo pipefail
name="${1:?usage: bench/cuda/run-bench.sh NAME [args ...] (NAME: a bench/cuda/*.cu file without .cu)}"
shift
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${OUT:-/tmp}"
mkdir -p "$out"
bin="$out/$name"
nvcc -O3 -std=c++17 -arch=sm_90 -o "$bin" "$root/bench/cuda/$name.cu"
if [ "${1:-}" = "--compile-only" ]; then
  echo "built $bin"
  exit 0
fi
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader || true
"$bin" "$@" 2>&1 | tee "$out/$name.log"
exit "${PIPESTATUS[0]}"
