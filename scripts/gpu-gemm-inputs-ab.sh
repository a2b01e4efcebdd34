#!/usr/bin/env bash
# bf16 GEMM inputs (`--gemm-inputs bf16`, docs/cuda-notes.md v52) against the default split inputs in one GPU call,
# from the repository root, within a time limit:
#   scripts/gpu-gemm-inputs-ab.sh [BUNDLE] [SECONDS] [WORKLOAD]
#     BUNDLE    a folder made by scripts/gpu-bundle.sh, or its --tar file (unpacked beside it; default .gpu/bundle)
#     SECONDS   the time this script may take (default 560: a device call's 10 minutes less the transfers)
#     WORKLOAD  the scripts/gpu-rl-bench.sh workload run last with bf16 inputs, bf16 K/V (default rl-long, --admission
#               eager; grpo runs --admission reserve); skipped when less than its usual time is left
# 1. `run check --gemm-inputs bf16`: how far the mode moves the fixtures from transformers and from the CPU backend
#    in the same mode (reported), and alone = batched = chunked, prefix cache, swap space, K-split = tiled GEMMs bit
#    for bit (must pass).
# 2. `run bench` (48 layers, prompt 512, batches 256 / 128 / 32, output 32, bf16 K/V) with split and with bf16
#    inputs, one after the other: the prefill and decode rows side by side.
# 3. WORKLOAD with RL_BENCH_GEMM_INPUTS=bf16.
# Logs go under $OUT (default /tmp/gemm-inputs-ab).
set -uo pipefail
bundle="${1:-.gpu/bundle}"
limit="${2:-560}"
workload="${3:-rl-long}"
out="${OUT:-/tmp/gemm-inputs-ab}"
mkdir -p "$out"
# shellcheck source=scripts/gpu-call-common.sh
. "$(dirname "$0")/gpu-call-common.sh"
gpu_call_start "$bundle"
el "run check --gemm-inputs bf16"
timeout 150 "$bundle/run" check --gemm-inputs bf16 > "$out/check.log" 2>&1
check=$?
echo "check exit $check"; grep -E 'FAIL|PASS|REPORT|rror|xception' "$out/check.log" | cut -c1-200 | head -40
for inputs in split bf16; do
  el "run bench --gemm-inputs $inputs"
  timeout 110 "$bundle/run" bench --layers 48 --prompt 512 --batches 256,128,32 --output 32 --kv-cache-dtype bf16 \
    --gemm-inputs "$inputs" > "$out/bench-$inputs.log" 2>&1
  echo "bench $inputs exit $?"
done
python3 - "$out/bench-split.log" "$out/bench-bf16.log" <<'PY'
import re, sys
def rows(path):
    text = open(path).read()
    pre = {int(m.group(1)): float(m.group(2)) for m in
           re.finditer(r"^row: prefill \(\d+ tokens\)\s+(\d+)\s+\S+\s+([\d.]+)", text, re.M)}
    dec = {int(m.group(1)): (float(m.group(2)), m.group(3)) for m in
           re.finditer(r"^row: decode \(median step\)\s+(\d+)\s+([\d.]+)\s+\S+\s+\S+\s+([\d.]+)", text, re.M)}
    return pre, dec
(sp, sd), (bp, bd) = rows(sys.argv[1]), rows(sys.argv[2])
print(f"{'batch':>6} {'prefill tok/s split':>20} {'bf16':>10} {'ratio':>7} {'decode ms split':>16} {'bf16':>8} "
      f"{'x roofline split':>17} {'bf16':>6}")
for b in sorted(set(sp) | set(sd), reverse=True):
    p1, p2 = sp.get(b), bp.get(b)
    d1, d2 = sd.get(b, (None, "-")), bd.get(b, (None, "-"))
    ratio = f"{p2 / p1:.2f}" if p1 and p2 else "-"
    f = lambda v, w, d: f"{v:>{w}.{d}f}" if v is not None else f"{'-':>{w}}"
    print(f"{b:>6} {f(p1, 20, 0)} {f(p2, 10, 0)} {ratio:>7} {f(d1[0], 16, 2)} {f(d2[0], 8, 2)} {d1[1]:>17} {d2[1]:>6}")
PY
gpu_call_workload "$workload" "$limit" "$out" RL_BENCH_GEMM_INPUTS=bf16
el done
exit "$check"
