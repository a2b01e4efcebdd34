#!/usr/bin/env bash
# Proves that a change to the CUDA sources moved code without changing what it compiles to: compiles kernels.cu as
# it is at REV (default HEAD) and as it is in the working tree to PTX with compile-ptx.sh's flags minus -lineinfo
# (line numbers are all a pure move may change) and compares the two files byte for byte.
# Usage: scripts/ptx-same.sh [REV]   (needs nvcc; exit 0 = identical PTX)
set -euo pipefail
rev="${1:-HEAD}"
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
git -C "$root" archive "$rev" gpu-runtime/src/main/cuda | tar -x -C "$tmp"
flags=(-ptx -arch=compute_90 -O3 -std=c++17)
nvcc "${flags[@]}" -o "$tmp/before.ptx" "$tmp/gpu-runtime/src/main/cuda/kernels.cu"
nvcc "${flags[@]}" -o "$tmp/after.ptx" "$root/gpu-runtime/src/main/cuda/kernels.cu"
entries() { grep -c '^\.visible \.entry' "$1"; }
if cmp -s "$tmp/before.ptx" "$tmp/after.ptx"; then
  echo "identical PTX ($(entries "$tmp/after.ptx") entry points, $(wc -c < "$tmp/after.ptx") bytes) at $rev and in the working tree"
else
  echo "PTX differs between $rev and the working tree:" >&2
  diff "$tmp/before.ptx" "$tmp/after.ptx" | head -40 >&2
  exit 1
fi
