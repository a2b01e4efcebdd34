# Shared by the one-call GPU A/B scripts (gpu-opt-in-ab.sh, gpu-gemm-inputs-ab.sh); source it, do not run it.
#   gpu_call_start BUNDLE   the clock starts (el prints seconds since), a --tar BUNDLE is unpacked beside itself
#                           (sets $bundle to the folder), the card is named
#   gpu_call_workload WORKLOAD LIMIT OUT [VAR=VALUE ...]
#                           runs scripts/gpu-rl-bench.sh WORKLOAD with bf16 K/V (grpo --admission reserve, others
#                           eager) with the given environment, if what is left of LIMIT seconds covers its usual time;
#                           logs under OUT/WORKLOAD
gpu_call_start() {
  t0=$(date +%s)
  bundle="$1"
  if [ -f "$bundle" ]; then
    tar xzf "$bundle" -C "$(dirname "$bundle")" && bundle="$(dirname "$bundle")/bundle"
  fi
  nvidia-smi --query-gpu=name --format=csv,noheader || true
}

el() { echo "[+$(( $(date +%s) - t0 ))s] $*"; }

gpu_call_workload() {
  local workload="$1" limit="$2" out="$3" need adm left
  shift 3
  case "$workload" in
    grpo) need=245 adm=reserve ;;
    vllm-23151) need=112 adm=eager ;;
    *) need=105 adm=eager ;;
  esac
  left=$(( limit - ($(date +%s) - t0) ))
  if [ "$left" -lt "$need" ]; then
    el "$workload skipped: $left s left, it needs ~$need"
    return 0
  fi
  el "$workload with $*"
  mkdir -p "$out/$workload"
  env "$@" OUT="$out/$workload" timeout $(( left - 3 )) "$(dirname "${BASH_SOURCE[0]}")/gpu-rl-bench.sh" "$bundle" \
    "$workload" bf16 "$adm" > "$out/$workload/all.log" 2>&1
  grep -E 'done:|lower bound|where it went|host time|FAIL|rror|xception' "$out/$workload/all.log" | cut -c1-700 | head -12
  tail -2 "$out/$workload/rl-bench.txt" 2>/dev/null
}
