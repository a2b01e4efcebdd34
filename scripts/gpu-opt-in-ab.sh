#!/usr/bin/env bash
# The opt-in CUDA kernels (router tiles, class-split dense products and their fold) judged in one GPU call, from the
# repository root, within a time limit:
#   scripts/gpu-opt-in-ab.sh [BUNDLE] [SECONDS] [WORKLOAD]
#     BUNDLE    a folder made by scripts/gpu-bundle.sh, or its --tar file (unpacked beside it; default .gpu/bundle)
#     SECONDS   the time this script may take (default 560: a device call's 10 minutes less the transfers)
#     WORKLOAD  the scripts/gpu-rl-bench.sh workload run last with the winners, bf16 K/V (default grpo, --admission
#               reserve; others --admission eager); skipped when less than its usual time is left
# 1. `run check` with every opt-in switch on: the fixtures against transformers and the CPU backend, alone = batched
#    = chunked (the switches must not change a bit).
# 2. `run bench` (48 layers, prompt 512, batches 128 / 32 / 10, bf16 K/V) with them on: per batch the interleaved
#    graph-replayed A/B rows `router tiles on/off ms`, `class-split dense on/off ms`, `class fold workspace/cluster`,
#    and `GEMMs fast = K-split only` (the new kernels bit for bit against the K-split path, which turns them off).
# 3. The winners at batch 128 (a switch wins when its side of the A/B row is faster and steps 1 and 2 found no
#    difference) print as JAVA_OPTS, and WORKLOAD runs with them.
# Logs go under $OUT (default /tmp/opt-in-ab).
set -uo pipefail
bundle="${1:-.gpu/bundle}"
limit="${2:-560}"
workload="${3:-grpo}"
out="${OUT:-/tmp/opt-in-ab}"
mkdir -p "$out"
# shellcheck source=scripts/gpu-call-common.sh
. "$(dirname "$0")/gpu-call-common.sh"
gpu_call_start "$bundle"
all="-Droutingreplay.cuda.classSplitDense=1 -Droutingreplay.cuda.routerTiles=on"
el "run check with $all"
JAVA_OPTS="$all" timeout 150 "$bundle/run" check > "$out/check.log" 2>&1
check=$?
echo "check exit $check"; grep -E 'FAIL|PASS|rror|xception' "$out/check.log" | cut -c1-160 | head -30
el "run bench with $all"
JAVA_OPTS="$all" timeout 150 "$bundle/run" bench --layers 48 --prompt 512 --batches 128,32,10 --output 32 \
  --kv-cache-dtype bf16 > "$out/bench.log" 2>&1
echo "bench exit $?"; grep -E 'FAIL|DIFFERENT|rror|xception|^row: |^card' "$out/bench.log" | head -40
opts=$(python3 - "$out/bench.log" "$check" <<'PY'
import re, sys
log = open(sys.argv[1]).read()
if sys.argv[2] != "0" or "DIFFERENT" in log:
    sys.exit()
def ab(label, batch=128):
    m = re.search(r"^row: %s\s+%d\s+([\d.]+)/([\d.]+)" % (re.escape(label), batch), log, re.M)
    return (float(m.group(1)), float(m.group(2))) if m else None
tiles, split, fold = ab("router tiles on/off ms"), ab("class-split dense on/off ms"), ab("class fold workspace/cluster")
o = []
if tiles and tiles[0] < tiles[1]:
    o.append("-Droutingreplay.cuda.routerTiles=on")
if split and split[0] < split[1]:
    o.append("-Droutingreplay.cuda.classSplitDense=1")
    if fold and fold[1] < fold[0]:
        o.append("-Droutingreplay.cuda.classSplitFold=cluster")
print(" ".join(o))
PY
)
echo "winners: JAVA_OPTS='$opts'"
gpu_call_workload "$workload" "$limit" "$out" JAVA_OPTS="$opts"
el done
exit "$check"
