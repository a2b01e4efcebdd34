"""The client against the real job: requests published from Python (JSON lines and Avro PromptEvents) come back as
results whose tokens, logprobs, routing ids and weights equal what `routing-replay generate` computes for the same
requests (its JSON, an independent path), and whose ids equal the .npy files `routing-replay consume` writes."""
import json

import numpy as np

from conftest import MODEL, run_cli
from routing_replay import publish, read_results

REQUESTS = [
    {"rid": "py-greedy", "prompt_text": "Routing replay keeps the trainer's experts equal to the sampler's.",
     "max_new_tokens": 12, "temperature": 0},
    {"rid": "py-sampled", "prompt_text": "Mixture-of-Experts routing for GRPO:", "max_new_tokens": 10,
     "temperature": 1.0, "top_k": 20, "seed": 42, "return_routing_weights": True},
    # a second turn whose trainer holds the rows of positions 0..4: its result returns positions 5.. only
    {"rid": "py-turn-2", "prompt_token_ids": [9707, 11, 1879, 0, 3555, 374, 13], "max_new_tokens": 6,
     "temperature": 0, "ignore_eos": True, "return_routing_weights": True, "routing_start": 5},
    {"rid": "py-avro-ids", "prompt_token_ids": [9707, 11, 1879, 0], "max_new_tokens": 8, "temperature": 0,
     "ignore_eos": True, "return_routing_weights": True},
    {"rid": "py-avro-text", "prompt_text": "<|im_start|>user\nWhat is an expert?<|im_end|>\n", "max_new_tokens": 9,
     "temperature": 0.7, "top_p": 0.9, "seed": 7},
    # evaluation traffic: no routing at all
    {"rid": "py-avro-eval", "prompt_token_ids": [9707, 11, 1879, 0], "max_new_tokens": 4, "temperature": 0,
     "return_routing": False},
]
JSON_REQUESTS, AVRO_REQUESTS = REQUESTS[:3], REQUESTS[3:]


def collect(bootstrap, rids, group):
    got = {}
    for r in read_results(bootstrap, "results", group_id=group, idle_seconds=180):
        if r.rid in rids:
            got[r.rid] = r
        if len(got) == len(rids):
            break
    assert set(got) == set(rids), f"answered: {sorted(got)}, expected {sorted(rids)}"
    return got


def test_results_equal_generate_and_consume(bootstrap, tmp_path):
    publish(bootstrap, "prompts", JSON_REQUESTS)
    publish(bootstrap, "prompts", AVRO_REQUESTS, avro=True)
    got = collect(bootstrap, {r["rid"] for r in REQUESTS}, "py-client-test")

    requests = tmp_path / "requests.jsonl"
    requests.write_text("".join(json.dumps(r) + "\n" for r in REQUESTS))
    run_cli("generate", "--model", MODEL, "--input", requests, "--output", tmp_path / "generate.jsonl")
    expected = [json.loads(line) for line in (tmp_path / "generate.jsonl").read_text().splitlines()]
    for e in expected:
        r = got[e["rid"]]
        assert r.output_token_ids == e["output_token_ids"], e["rid"]
        assert np.array_equal(np.float32(r.output_logprobs), np.float32(e["output_logprobs"])), e["rid"]
        routing = e["routing"]
        if routing is None:  # return_routing false: generate writes null, the client gives None
            assert not r.routing_returned and r.topk_ids is None and r.topk_weights is None, e["rid"]
            continue
        assert r.routing_start == routing["routing_start"], e["rid"]
        assert r.num_tokens == routing["num_tokens"] == len(r.prompt_token_ids) + len(r.output_token_ids) - 1
        assert r.topk_ids.shape == (routing["num_tokens"] - routing["routing_start"],
                                    len(routing["moe_layer_indices"]), routing["top_k"])
        assert r.topk_ids.dtype == np.dtype(routing["dtype"])
        assert np.array_equal(r.topk_ids, np.array(routing["topk_ids"])), e["rid"]
        assert r.moe_layer_indices == routing["moe_layer_indices"]
        if "topk_weights" in routing:
            assert np.array_equal(r.topk_weights, np.float32(routing["topk_weights"])), e["rid"]
        else:
            assert r.topk_weights is None

    npy = tmp_path / "npy"
    run_cli("consume", "--bootstrap", bootstrap, "--topic", "results", "--group", "py-client-consume",
            "--output", tmp_path / "consumed.jsonl", "--npy-dir", npy, "--idle-seconds", 10)
    assert got["py-turn-2"].routing_start == 5 and not got["py-avro-eval"].routing_returned
    for rid, r in got.items():
        if not r.routing_returned:
            assert not list(npy.glob(f"{rid}*.npy")), "no routing, no .npy file"
            continue
        name = f"{rid}.npy" if r.routing_start == 0 else f"{rid}@{r.routing_start}.npy"  # the file says its start
        assert np.array_equal(np.load(npy / name), r.topk_ids), rid


def test_a_result_replayed_with_its_own_routing_reproduces_its_logprobs(bootstrap):
    """Routing replay from Python: a result's own rows (``topk_ids``) go back as forced_routing, packed (Avro) and as
    lists (JSON), with its prompt + output scored: the job recomputes its output logprobs bit for bit and the free
    router picks every forced id."""
    base = {"rid": "py-replay-base", "prompt_token_ids": [9707, 11, 1879, 0, 3555], "max_new_tokens": 6,
            "temperature": 0, "ignore_eos": True}
    publish(bootstrap, "prompts", [base])
    r = collect(bootstrap, {base["rid"]}, "py-replay-base")[base["rid"]]
    tokens = r.prompt_token_ids + r.output_token_ids
    replay = {"prompt_token_ids": tokens, "max_new_tokens": 0, "prompt_logprobs": True, "forced_routing": r.topk_ids}
    publish(bootstrap, "prompts", [dict(replay, rid="py-replay-avro")], avro=True)
    publish(bootstrap, "prompts", [dict(replay, rid="py-replay-json")])
    got = collect(bootstrap, {"py-replay-avro", "py-replay-json"}, "py-replay")
    p = len(r.prompt_token_ids)
    for rid, g in got.items():
        assert np.array_equal(np.float32(g.prompt_logprobs[p - 1:]), np.float32(r.output_logprobs)), rid
        assert g.forced_routing["positions"] == r.num_tokens, rid
        assert g.forced_routing["cells_reproduced"] == g.forced_routing["cells"], rid
        assert np.array_equal(g.topk_ids, r.topk_ids), rid
