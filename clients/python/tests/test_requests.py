"""Requests with replay inputs as the client sends them: forced_routing packed like a result's routing_ids."""
import json

import numpy as np
import pytest

from routing_replay import RoutingResult
from routing_replay.requests import to_json, to_prompt_event


def test_forced_routing_goes_to_avro_packed_in_the_results_dtype_with_its_shape():
    rows = np.array([[[300, 1], [2, 3]], [[4, 5], [6, 7]]], dtype=np.uint16)
    event = to_prompt_event({"rid": "f", "prompt_token_ids": [1, 2, 3], "forced_routing": rows,
                             "prompt_logprobs": True})
    assert event["forced_routing"] == rows.astype("<u2").tobytes()
    assert event["forced_routing"][:2] == b"\x2c\x01"  # 300, little-endian
    assert event["forced_routing_shape"] == [2, 2, 2]
    assert event["prompt_logprobs"] is True


def test_a_results_own_rows_go_back_as_they_came():
    rec = {"rid": "r", "model": "m", "prompt_token_ids": [5, 6], "output_token_ids": [7, 8],
           "output_logprobs": [-0.5, -1.0], "finish_reason": "length", "num_tokens": 3, "routing_start": 0,
           "routing_ids": bytes(range(12)), "routing_shape": [3, 2, 2], "routing_dtype": "uint8",
           "layout": {"moe_layer_indices": [0, 1], "top_k": 2, "num_experts": 16, "dtype": "uint8"},
           "routing_weights": None, "seed": None, "timings": {}, "metadata": {},
           "prompt_logprobs": [-1.5], "forced_routing": {"positions": 1, "mismatched_positions": [1, 0],
                                                          "cells": 4, "cells_reproduced": 3}}
    r = RoutingResult.from_record(rec)
    assert r.prompt_logprobs == [-1.5]
    assert r.forced_routing["mismatched_positions"] == [1, 0]
    event = to_prompt_event({"rid": "again", "prompt_token_ids": [5, 6, 7], "forced_routing": r.topk_ids[:2]})
    assert event["forced_routing"] == bytes(range(8))
    assert json.loads(to_json({"rid": "j", "prompt_token_ids": [5, 6, 7], "forced_routing": r.topk_ids[:1]}))[
        "forced_routing"] == [[[0, 1], [2, 3]]]


def test_nested_lists_go_as_json_but_not_as_avro():
    req = {"rid": "n", "prompt_token_ids": [1, 2], "forced_routing": [[[0, 1], [2, 3]]]}
    assert json.loads(to_json(req))["forced_routing"] == [[[0, 1], [2, 3]]]
    with pytest.raises(ValueError, match="uint8/uint16 array"):
        to_prompt_event(req)
