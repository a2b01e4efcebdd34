#!/usr/bin/env bash
# GPU checks of the CUDA backend, one command on a GPU machine (from the repository root):
#   scripts/gpu-test.sh [BUNDLE]    BUNDLE: a folder made by scripts/gpu-bundle.sh (default .gpu/bundle)
# Runs CudaChecks: every fixture the CUDA backend accepts (the others listed with its reason) vs transformers,
# alone/batched/chunked invariance, prefix-cache records vs cold
# ones, a block-aligned prompt's later samples served whole from its prompt-end logits row, preempted records
# swapped to host memory and back vs unpreempted ones (`run check --swap-only` runs that check alone), routing
# replay and scoring (`run check --replay-only`), 100 random requests vs the CPU backend per fixture. Exit status 0
# only when everything passes.
set -euo pipefail
bundle="${1:-.gpu/bundle}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
exec "$bundle/run" check
