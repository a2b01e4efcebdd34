#!/usr/bin/env bash
# Compiles the JNI shim pdl_launch.c (PdlLauncher: programmatic dependent launch through cuLaunchKernelEx) into
# $1/libpdl_launch.so, against the JDK at $2 (its include/ and include/linux/) and the CUDA toolkit's cuda.h (types
# only: the driver is opened at run time). Like compile-ptx.sh it only says so and exits 0 when gcc or the CUDA
# toolkit is missing: the build must succeed on machines without CUDA (the CPU backend, and the CUDA backend with
# -Droutingreplay.cuda.pdl off, need no shim).
set -euo pipefail
out="$1"
jdk="$2"
src="$(cd "$(dirname "$0")" && pwd)"
cuda_include=""
nvcc_home=""
if command -v nvcc >/dev/null 2>&1; then
  nvcc_home="$(cd "$(dirname "$(readlink -f "$(command -v nvcc)")")/.." && pwd)"
fi
for home in "${CUDA_HOME:-}" "$nvcc_home" /usr/local/cuda; do
  if [ -n "$home" ] && [ -f "$home/include/cuda.h" ]; then cuda_include="$home/include"; break; fi
done
if ! command -v gcc >/dev/null 2>&1 || [ ! -f "$cuda_include/cuda.h" ] || [ ! -f "$jdk/include/jni.h" ]; then
  echo "[compile-native] gcc, cuda.h ($CUDA_HOME, next to nvcc or /usr/local/cuda) or $jdk/include/jni.h missing: skipping libpdl_launch.so (-Droutingreplay.cuda.pdl=on will not be usable from this build)"
  exit 0
fi
mkdir -p "$out"
if [ "$out/libpdl_launch.so" -nt "$src/pdl_launch.c" ]; then
  exit 0
fi
echo "[compile-native] gcc -shared pdl_launch.c -> libpdl_launch.so"
gcc -O2 -std=c11 -Wall -Wextra -Werror -shared -fPIC -I"$jdk/include" -I"$jdk/include/linux" -I"$cuda_include" \
  -o "$out/libpdl_launch.so" "$src/pdl_launch.c" -ldl
