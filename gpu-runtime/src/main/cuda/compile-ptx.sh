#!/usr/bin/env bash
# Compiles every kernels file in this folder to PTX for compute capability 9.0 (Hopper) into $1.
# Without nvcc on PATH it only says so: the build must succeed on machines without CUDA (CPU backend only).
set -euo pipefail
out="$1"
src="$(cd "$(dirname "$0")" && pwd)"
if ! command -v nvcc >/dev/null 2>&1; then
  echo "[compile-ptx] nvcc not on PATH: skipping PTX (the CUDA backend will not be usable from this build)"
  exit 0
fi
mkdir -p "$out"
for cu in "$src"/*.cu; do
  name="$(basename "$cu" .cu)"
  if [ "$out/$name.ptx" -nt "$cu" ] && [ -z "$(find "$src" -name '*.cuh' -newer "$out/$name.ptx")" ]; then
    continue
  fi
  echo "[compile-ptx] nvcc -ptx -arch=compute_90 $name.cu"
  nvcc -ptx -arch=compute_90 -O3 -std=c++17 -lineinfo -o "$out/$name.ptx" "$cu"
done
