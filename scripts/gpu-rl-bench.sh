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
#               random dataset, concurrency 10): 739.8 output tokens/s. --max-batch-tokens 8192: vLLM's default
#               step budget for serving on an H100.
#   rl-long     128 requests, 512-token prompts, 1,536 sampled tokens (temperature 1, seeded), ignore_eos, routing
#               to --npy-dir.
#   grpo        GRPO groups: 64 random 1,024-token prompts x 8 samples each (512 requests, a group's samples
#               adjacent; distinct seeds, temperature 1), max_new_tokens drawn in 256..2,048, ignore_eos, routing to
#               --npy-dir. Every prompt is 64 whole blocks, so with prompt-end logits (both backends) each group's
#               first sample keeps its last position's logits row and the 7 later ones are served the whole prompt
#               from the prefix cache: "hit %" should be 7/8 = 87.5 (86.1 = 7 x 1,008 / 8,192 where the last block is
#               computed again; "kept MiB": the rows kept, 0.58 MiB per prompt). The table's note prints the
#               expected figure for the shape. GRPO_SHAPE=groups,prompt_len,samples,min_new,max_new (default
#               64,1024,8,256,2048) changes the size, e.g. for a trial on the CPU (see below).
#   multi-turn  32 conversations x 6 turns in ONE engine (`multi-turn`, so the prefix cache lives across turns as
#               in a long-lived server or the streaming job): turn 1 a random 1,024-token prompt; when a
#               conversation's turn n finishes, its turn n+1 = turn n's prompt + output tokens + 64 new random tokens
#               is submitted, with routing_start = turn n's num_tokens (its prompt + output - 1: positions below it
#               are exactly turn n's record, which the trainer already holds; turn n's last output token is routed
#               for the first time in turn n+1); 512 sampled tokens per turn (temperature 1, seeded, ignore_eos),
#               routing to --npy-dir. Per turn it prints the prompt positions served from the prefix cache, the
#               routing bytes returned with routing_start and what routing_start 0 would have returned, and the
#               turn's wall time (first submission to last finish; turns of different conversations overlap), to
#               $OUT/multi-turn.txt.
#               MULTI_TURN_SHAPE=conversations,first_prompt,max_new_tokens,turns,new_per_turn (default
#               32,1024,512,6,64) changes the size.
# RL_BENCH_GENERATE replaces the generate command (default: "$BUNDLE/run generate --backend cuda --synthetic-config
# examples/qwen3-30b-a3b-config.json --lower-bound") and RL_BENCH_MULTI_TURN the multi-turn one (default:
# "$BUNDLE/run multi-turn --backend cuda --synthetic-config examples/qwen3-30b-a3b-config.json"), e.g. to try the
# script on the CPU with the tiny fixture:
#   RL_BENCH_MULTI_TURN="bin/routing-replay multi-turn --model fixtures/qwen3-moe-tiny --threads 2" \
#     MULTI_TURN_SHAPE=4,40,8,6,16 scripts/gpu-rl-bench.sh - multi-turn fp32
#   RL_BENCH_GENERATE="bin/routing-replay generate --model fixtures/qwen3-moe-tiny --threads 2" \
#     GRPO_SHAPE=4,64,8,2,6 scripts/gpu-rl-bench.sh - grpo fp32 reserve
# (without --lower-bound the bound columns print "-").
# RL_BENCH_SWAP_GIB sets --swap-space-gib (the host swap space for preempted K/V; unset: the engine's default, 16
# GiB on cuda; 0: none, preempted work is recomputed as before the swap space existed).
# RL_BENCH_GEMM_INPUTS sets --gemm-inputs (split, the default, or bf16: the products multiply the activations rounded
# to bf16, as vLLM's bf16 engine does, with half the tensor-core work).
# For each run it prints wall time, output tokens/s, preemptions, K/V blocks swapped out / back in, recomputed
# positions (and their share of the generated tokens), the prefix cache's hit rate (positions known at admission
# served from it), the prompt-end logits rows it kept (MiB) and the lower bound the run's
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
# shellcheck disable=SC2206
multi_turn_cmd=(${RL_BENCH_MULTI_TURN:-$bundle/run multi-turn --backend cuda --synthetic-config $config})

grpo_shape="${GRPO_SHAPE:-64,1024,8,256,2048}"
requests() { # name -> JSONL of token-id requests (random ids over the vocabulary, a fixed seed per workload)
  python3 - "$1" "$grpo_shape" <<'PY'
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
    groups, prompt_len, samples, min_new, max_new = (int(v) for v in sys.argv[2].split(","))
    for g in range(groups):
        prompt = [rnd.randrange(vocab) for _ in range(prompt_len)]
        for k in range(samples):
            print(json.dumps({"rid": f"g{g}s{k}", "prompt_token_ids": prompt,
                              "max_new_tokens": rnd.randint(min_new, max_new), "temperature": 1.0,
                              "seed": samples * g + k, "ignore_eos": True}))
else:
    sys.exit(f"unknown workload {name}")
PY
}

options() { # name -> generate options of the workload
  case "$1" in
    # vLLM's own step budget on this card: max_num_batched_tokens defaults to 8,192 for `vllm serve` on GPUs of
    # >= 70 GB other than the A100 (EngineArgs.get_batch_defaults), what issue #23151's run used; ours is 2,048
    vllm-23151) echo "--max-batch 10 --max-batch-tokens 8192" ;;
    rl-long|grpo|multi-turn) echo "--max-batch 256 --npy-dir $work/npy" ;;
  esac
  if [ -n "${RL_BENCH_SWAP_GIB:-}" ]; then echo "--swap-space-gib $RL_BENCH_SWAP_GIB"; fi
  if [ -n "${RL_BENCH_GEMM_INPUTS:-}" ]; then echo "--gemm-inputs $RL_BENCH_GEMM_INPUTS"; fi
}

multi_turn() { # kv, admission: the whole conversation workload in one engine; appends its table to $out/multi-turn.txt
  local kv="$1" adm="$2" shape="${MULTI_TURN_SHAPE:-32,1024,512,6,64}" log="$out/multi-turn-$1-$2.log"
  local conversations first_prompt max_new turns new_per_turn
  IFS=, read -r conversations first_prompt max_new turns new_per_turn <<< "$shape"
  rm -rf "$work/npy"
  echo "== multi-turn $shape, $kv K/V, --admission $adm, $card" | tee "$log"
  # shellcheck disable=SC2046
  "${multi_turn_cmd[@]}" --kv-cache-dtype "$kv" --admission "$adm" $(options multi-turn) \
    --conversations "$conversations" --first-prompt "$first_prompt" --max-new-tokens "$max_new" --turns "$turns" \
    --new-per-turn "$new_per_turn" 2>&1 | grep -v '^progress' | tee -a "$log"
  [ "${PIPESTATUS[0]}" = 0 ] || return 1
  { echo "-- $kv K/V, --admission $adm, shape $shape"; sed -n '/^turn /,$p' "$log"; } >> "$out/multi-turn.txt"
}

table="$out/rl-bench.txt"
printf '%-11s %-7s %-5s %9s %10s %8s %15s %11s %8s %6s %8s %10s %10s %8s\n' workload admit kv "wall s" "out tok/s" \
  preempt "swapped out/in" recomputed "recomp %" "hit %" "kept MiB" "bound s" "x bound" "x vLLM" > "$table"
for w in ${workloads//,/ }; do
  if [ "$w" = multi-turn ]; then
    for kv in ${dtypes//,/ }; do
      for adm in ${admissions//,/ }; do
        multi_turn "$kv" "$adm" || echo "multi-turn $kv $adm FAILED (see $out/multi-turn-$kv-$adm.log)" >> "$table"
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
                 r"(\d+) preemptions for K/V space, (\d+) blocks swapped out / (\d+) in, (\d+) positions recomputed",
                 log)
bound = re.search(r"lower bound: ([\d.]+) s .*measured ([\d.]+) s = ([\d.]+)x the bound", log)
summary = re.search(r"prefix cache \d+ hit / \d+ missed positions \(([\d.]+) %\)(?:, ([\d.]+) MiB of prompt-end logits kept)?",
                    done.group(0) + log[done.end():] if done else "")
hit = summary.group(1) if summary else "-"
kept = summary.group(2) or "0" if summary else "-"
if not done:
    print(f"{w:<11} {adm:<7} {kv:<5} FAILED (see {sys.argv[3]})")
    sys.exit()
secs, gen = float(done.group(4)), int(done.group(3))
rate = gen / secs
vllm = f"{rate / 739.8:.2f}" if w == "vllm-23151" else "-"
swapped = f"{done.group(6)}/{done.group(7)}"
recomputed = int(done.group(8))
share = 100.0 * recomputed / max(gen, 1)
bound_s = f"{float(bound.group(1)):.2f}" if bound else "-"
x_bound = f"{float(bound.group(3)):.2f}" if bound else "-"
print(f"{w:<11} {adm:<7} {kv:<5} {secs:>9.1f} {rate:>10.0f} {done.group(5):>8} {swapped:>15} {recomputed:>11} "
      f"{share:>8.1f} {hit:>6} {kept:>8} {bound_s:>10} {x_bound:>8} {vllm:>8}")
PY
  done
  done
done
echo
echo "==== RL workloads, $card, Qwen3-30B-A3B shape (48 layers, synthetic bf16 weights), ${RL_BENCH_GEMM_INPUTS:-split} GEMM inputs ===="
cat "$table"
echo "x vLLM: output tokens/s over 739.8 (vLLM issue #23151, one H100, bf16, TP 1, 2,048 in / 1,024 out, concurrency 10)"
case ",$workloads," in *,grpo,*)
  IFS=, read -r _ g_prompt g_samples _ _ <<< "$grpo_shape"
  python3 - "$g_prompt" "$g_samples" <<'PY'
import sys
prompt, samples = int(sys.argv[1]), int(sys.argv[2])
block = 16  # the engine's default kvBlockSize
whole = 100.0 * (samples - 1) / samples
last_block = 100.0 * (samples - 1) * ((prompt - 1) // block * block) / (samples * prompt)
if prompt % block == 0:
    print(f"grpo hit %: {whole:.1f} expected (each group's {samples - 1} later samples served the whole {prompt}-token "
          f"prompt, first token from the kept prompt-end logits row); {last_block:.1f} means the last block was "
          f"computed again (no row kept: --prompt-end-logits-mib 0, or rows evicted)")
else:
    print(f"grpo hit %: {last_block:.1f} expected ({prompt}-token prompts do not end on a block boundary)")
PY
  ;;
esac
if [ -s "$out/multi-turn.txt" ]; then
  echo
  echo "==== multi-turn: routing returned per turn with and without routing_start, $card ===="
  cat "$out/multi-turn.txt"
  echo "cached pos / hit %: prompt positions served from the prefix cache (one engine for all turns); KiB returned:" \
    "routing bytes of the turn's records with routing_start = the previous turn's num_tokens; KiB if 0: the same" \
    "records from position 0; wall s: the turn's first submission to its last finish (turns overlap)"
fi
