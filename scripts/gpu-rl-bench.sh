#!/usr/bin/env bash
# The RL-shaped workloads on the GPU machine (repository root), Qwen3-30B-A3B shape with synthetic bf16 weights,
# through `generate --backend cuda --lower-bound` (the engine's own scheduling, routing written as in production):
#   scripts/gpu-rl-bench.sh [BUNDLE] [WORKLOADS] [KV_DTYPES] [ADMISSIONS]
#     BUNDLE     a folder made by scripts/gpu-bundle.sh (default .gpu/bundle)
#     WORKLOADS  comma list of vllm-23151, rl-long, grpo, multi-turn (default vllm-23151,rl-long)
#     KV_DTYPES  comma list of fp32, bf16, fp8 (default all three)
#     ADMISSIONS comma list of reserve, eager (the engine's --admission; default eager)
# Workloads:
#   vllm-23151  50 requests, random 2,048-token prompts, 1,024 new tokens, greedy, ignore_eos, --max-batch 10: the
#               workload behind vLLM's published figure for this model on one H100 (vLLM issue #23151: bf16, TP 1,
#               random dataset, concurrency 10): 739.8 output tokens/s.
#   rl-long     128 requests, 512-token prompts, 1,536 sampled tokens (temperature 1, seeded), ignore_eos, routing
#               to --npy-dir.
#   grpo        GRPO groups: 64 random 1,024-token prompts x 8 samples each (512 requests, a group's samples
#               adjacent; distinct seeds, temperature 1), max_new_tokens drawn in 256..2,048, ignore_eos, routing to
#               --npy-dir. The prefix cache should serve >= 7/8 of prompt positions ("hit %").
#   multi-turn  32 conversations x 6 turns: turn 1 a random 1,024-token prompt, each later turn's prompt = the
#               previous turn's prompt + its output tokens + 64 new random tokens; 512 sampled tokens per turn
#               (temperature 1, seeded, ignore_eos), routing to --npy-dir. Turn n+1 asks for routing_start = turn n's
#               num_tokens (its prompt + output - 1): positions below it are exactly turn n's record, which the
#               trainer already holds; turn n's last output token is routed for the first time in turn n+1. The 6
#               turns are 6 successive `generate` calls (turn n+1 needs turn n's outputs). The prefix cache lives in
#               one process, so each call starts cold: generate cannot keep it across calls, and the 32
#               conversations share no prefix, so each turn recomputes its whole prefix (hit % ~ 0); only the
#               streaming job, one long-lived engine, can serve turn n+1's prefix from the cache. Per turn it prints
#               the routing bytes returned with routing_start and what routing_start 0 would have returned (from
#               the records' lengths: rows x MoE layers x top-k x id bytes), and the wall time, to
#               $OUT/multi-turn.txt.
#               MULTI_TURN_SHAPE=conversations,first_prompt,max_new_tokens,turns,new_per_turn (default
#               32,1024,512,6,64) changes the size.
# RL_BENCH_GENERATE replaces the generate command (default: "$BUNDLE/run generate --backend cuda --synthetic-config
# examples/qwen3-30b-a3b-config.json --lower-bound"), e.g. to try the script on the CPU with the tiny fixture:
#   RL_BENCH_GENERATE="bin/routing-replay generate --model fixtures/qwen3-moe-tiny --threads 2" \
#     MULTI_TURN_SHAPE=4,40,8,6,16 scripts/gpu-rl-bench.sh - multi-turn fp32
# For each run it prints wall time, output tokens/s, preemptions, recomputed positions, the prefix cache's hit rate
# (positions known at admission served from it) and the lower bound the run's
# own schedule implies (each step's weight + K/V bytes over the GPU's measured copy bandwidth), and writes the table
# to $OUT/rl-bench.txt (logs beside it) when OUT is set.
set -uo pipefail
bundle="${1:-.gpu/bundle}"
workloads="${2:-vllm-23151,rl-long}"
dtypes="${3:-fp32,bf16,fp8}"
admissions="${4:-eager}"
out="${OUT:-/tmp/rl-bench}"
work="$(mktemp -d)"
mkdir -p "$out"
config="$(dirname "$0")/../examples/qwen3-30b-a3b-config.json"
card="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
card="${card:-no GPU}"
# shellcheck disable=SC2206
generate_cmd=(${RL_BENCH_GENERATE:-$bundle/run generate --backend cuda --synthetic-config $config --lower-bound})

requests() { # name -> JSONL of token-id requests (random ids over the vocabulary, a fixed seed per workload)
  python3 - "$1" <<'PY'
import json, random, sys
name = sys.argv[1]
vocab = 151936
if name == "vllm-23151":
    rnd = random.Random(23151)
    for i in range(50):
        print(json.dumps({"rid": f"v{i}", "prompt_token_ids": [rnd.randrange(vocab) for _ in range(2048)],
                          "max_new_tokens": 1024, "temperature": 0, "ignore_eos": True}))
elif name == "rl-long":
    rnd = random.Random(1536)
    for i in range(128):
        print(json.dumps({"rid": f"rl{i}", "prompt_token_ids": [rnd.randrange(vocab) for _ in range(512)],
                          "max_new_tokens": 1536, "temperature": 1.0, "seed": 1000 + i, "ignore_eos": True}))
elif name == "grpo":
    rnd = random.Random(8)
    for g in range(64):
        prompt = [rnd.randrange(vocab) for _ in range(1024)]
        for k in range(8):
            print(json.dumps({"rid": f"g{g}s{k}", "prompt_token_ids": prompt,
                              "max_new_tokens": rnd.randint(256, 2048), "temperature": 1.0,
                              "seed": 8 * g + k, "ignore_eos": True}))
else:
    sys.exit(f"unknown workload {name}")
PY
}

options() { # name -> generate options of the workload
  case "$1" in
    vllm-23151) echo "--max-batch 10" ;;
    rl-long|grpo|multi-turn) echo "--max-batch 256 --npy-dir $work/npy" ;;
  esac
}

turn_requests() { # turn, previous turn's results (or -), shape -> JSONL of this turn's requests
  python3 - "$@" <<'PY'
import json, random, sys
turn, prev, shape = int(sys.argv[1]), sys.argv[2], sys.argv[3]
conversations, first_prompt, max_new, _, new_per_turn = (int(x) for x in shape.split(","))
vocab = 151936
rnd = random.Random(6000 + turn)
if turn == 1:
    for c in range(conversations):
        print(json.dumps({"rid": f"mt{c}t1", "prompt_token_ids": [rnd.randrange(vocab) for _ in range(first_prompt)],
                          "max_new_tokens": max_new, "temperature": 1.0, "seed": 1000 * c + turn,
                          "ignore_eos": True}))
    sys.exit()
with open(prev) as f:
    results = {r["rid"]: r for r in map(json.loads, f)}
for c in range(conversations):
    r = results[f"mt{c}t{turn - 1}"]
    history = r["prompt_token_ids"] + r["output_token_ids"]
    # The first routed position the trainer does not hold: turn n routed prompt + output - 1 positions (its last
    # output is never fed back), and turn n+1's positions below that see exactly the same tokens.
    start = len(history) - 1
    assert r["routing"]["num_tokens"] == start, (r["rid"], r["routing"]["num_tokens"], start)
    print(json.dumps({"rid": f"mt{c}t{turn}",
                      "prompt_token_ids": history + [rnd.randrange(vocab) for _ in range(new_per_turn)],
                      "max_new_tokens": max_new, "temperature": 1.0, "seed": 1000 * c + turn, "ignore_eos": True,
                      "routing_start": start}))
PY
}

turn_summary() { # turn, admission, kv, results, generate's log, process wall ms -> one row of the multi-turn table
  python3 - "$@" <<'PY'
import json, re, sys
turn, adm, kv, results = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
log, wall = open(sys.argv[5]).read(), int(sys.argv[6]) / 1000
returned = full = prompts = outputs = 0
n = 0
with open(results) as f:
    for line in f:
        r = json.loads(line)
        g = r["routing"]
        row = len(g["moe_layer_indices"]) * g["top_k"] * (2 if g["dtype"] == "uint16" else 1)
        rows = g["num_tokens"] - g["routing_start"]
        assert len(g["topk_ids"]) == rows, (r["rid"], len(g["topk_ids"]), rows)
        returned += rows * row
        full += g["num_tokens"] * row
        prompts += len(r["prompt_token_ids"])
        outputs += len(r["output_token_ids"])
        n += 1
done = re.search(r"done: (\d+) requests generated.* in ([\d.]+) s", log)
hit = re.search(r"prefix cache \d+ hit / \d+ missed positions \(([\d.]+) %\)", log)
gen_s = done.group(2) if done else "-"
kib = 1024
print(f"{turn:>4} {adm:<7} {kv:<5} {n:>5} {prompts / max(n, 1):>10.0f} {outputs / max(n, 1):>8.0f} {returned / kib:>12.1f} "
      f"{full / kib:>12.1f} {full / max(returned, 1):>7.1f} {gen_s:>9} {wall:>8.1f} {hit.group(1) if hit else '-':>6}")
PY
}

multi_turn() { # kv, admission: runs the turns one generate call after another and writes $out/multi-turn.txt
  local kv="$1" adm="$2" shape="${MULTI_TURN_SHAPE:-32,1024,512,6,64}" turns prev=- t log start end
  turns="$(echo "$shape" | cut -d, -f4)"
  local mt_table="$out/multi-turn.txt"
  [ -s "$mt_table" ] || printf '%4s %-7s %-5s %5s %10s %8s %12s %12s %7s %9s %8s %6s\n' turn admit kv convs "avg prompt" \
    "avg out" "KiB returned" "KiB if 0" "saved x" "gen s" "wall s" "hit %" > "$mt_table"
  rm -rf "$work/npy"
  for t in $(seq 1 "$turns"); do
    turn_requests "$t" "$prev" "$shape" > "$work/multi-turn-t$t.jsonl" || return 1
    log="$out/multi-turn-$kv-$adm-t$t.log"
    echo "== multi-turn turn $t, $kv K/V, --admission $adm, $card" | tee "$log"
    start=$(date +%s%N)
    # shellcheck disable=SC2046
    "${generate_cmd[@]}" --input "$work/multi-turn-t$t.jsonl" --output "$work/multi-turn-$kv-t$t.out.jsonl" \
      --kv-cache-dtype "$kv" --admission "$adm" $(options multi-turn) 2>&1 | grep -v '^progress' | tee -a "$log"
    end=$(date +%s%N)
    turn_summary "$t" "$adm" "$kv" "$work/multi-turn-$kv-t$t.out.jsonl" "$log" "$(( (end - start) / 1000000 ))" \
      >> "$mt_table" || return 1
    prev="$work/multi-turn-$kv-t$t.out.jsonl"
  done
}

table="$out/rl-bench.txt"
printf '%-11s %-7s %-5s %9s %10s %8s %11s %6s %10s %10s %8s\n' workload admit kv "wall s" "out tok/s" preempt recomputed "hit %" "bound s" "x bound" "x vLLM" > "$table"
for w in ${workloads//,/ }; do
  if [ "$w" = multi-turn ]; then
    for kv in ${dtypes//,/ }; do
      for adm in ${admissions//,/ }; do
        multi_turn "$kv" "$adm" || echo "multi-turn $kv $adm FAILED (see $out/multi-turn-$kv-$adm-t*.log)" >> "$table"
      done
    done
    continue
  fi
  requests "$w" > "$work/$w.jsonl" || exit 1
  for kv in ${dtypes//,/ }; do
  for adm in ${admissions//,/ }; do
    log="$out/$w-$kv-$adm.log"
    rm -rf "$work/npy"
    echo "== $w, $kv K/V, --admission $adm, $card" | tee "$log"
    # shellcheck disable=SC2046
    "${generate_cmd[@]}" --input "$work/$w.jsonl" \
      --output "$work/$w-$kv.jsonl" --kv-cache-dtype "$kv" --admission "$adm" $(options "$w") 2>&1 | grep -v '^progress' | tee -a "$log"
    python3 - "$w" "$kv" "$log" "$adm" >> "$table" <<'PY'
import re, sys
w, kv, log, adm = sys.argv[1], sys.argv[2], open(sys.argv[3]).read(), sys.argv[4]
done = re.search(r"done: (\d+) requests generated, \d+ rejected; (\d+) prompt \+ (\d+) generated tokens in ([\d.]+) s.*?"
                 r"(\d+) preemptions for K/V space, (\d+) positions recomputed", log)
bound = re.search(r"lower bound: ([\d.]+) s .*measured ([\d.]+) s = ([\d.]+)x the bound", log)
hit = re.search(r"prefix cache \d+ hit / \d+ missed positions \(([\d.]+) %\)", log)
hit = hit.group(1) if hit else "-"
if not done or not bound:
    print(f"{w:<11} {adm:<7} {kv:<5} FAILED (see {sys.argv[3]})")
    sys.exit()
secs, gen = float(done.group(4)), int(done.group(3))
rate = gen / secs
vllm = f"{rate / 739.8:.2f}" if w == "vllm-23151" else "-"
print(f"{w:<11} {adm:<7} {kv:<5} {secs:>9.1f} {rate:>10.0f} {done.group(5):>8} {done.group(6):>11} {hit:>6} {float(bound.group(1)):>10.2f} "
      f"{float(bound.group(3)):>8.2f} {vllm:>8}")
PY
  done
  done
done
echo
echo "==== RL workloads, $card, Qwen3-30B-A3B shape (48 layers, synthetic bf16 weights) ===="
cat "$table"
echo "x vLLM: output tokens/s over 739.8 (vLLM issue #23151, one H100, bf16, TP 1, 2,048 in / 1,024 out, concurrency 10)"
if [ -s "$out/multi-turn.txt" ]; then
  echo
  echo "==== multi-turn: routing returned per turn with and without routing_start, $card ===="
  cat "$out/multi-turn.txt"
  echo "KiB returned: routing bytes of the turn's records with routing_start = the previous turn's num_tokens;" \
    "KiB if 0: the same records from position 0; gen s: generate's own timing; wall s: the generate process" \
    "(model load included); hit %: prefix cache, cold in every turn (one process per turn)"
fi
