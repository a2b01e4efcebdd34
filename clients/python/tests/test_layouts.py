"""RoutingResult from a hand-packed record, and the trainer layouts, against arrays written out by hand."""
import struct

import numpy as np
import pytest

from routing_replay import NO_ROUTE, RoutingResult


def record(ids, shape, dtype="uint8", weights=None, moe_layers=(1, 3), routing_start=0):
    fmt = {"uint8": "B", "uint16": "H"}[dtype]
    return {"rid": "r", "model": "m", "prompt_token_ids": [5, 6], "output_token_ids": [7, 8],
            "output_logprobs": [-0.5, -1.0], "finish_reason": "length", "num_tokens": 3,
            "routing_start": routing_start,
            "routing_ids": None if ids is None else struct.pack("<" + fmt * len(ids), *ids),
            "routing_shape": None if shape is None else list(shape),
            "routing_dtype": dtype, "layout": {"moe_layer_indices": list(moe_layers), "top_k": 2,
                                               "num_experts": 300 if dtype == "uint16" else 8, "dtype": dtype},
            "routing_weights": weights, "seed": None, "timings": {}, "metadata": {}}


# 3 tokens x 2 MoE layers x top-2, token-major: token t layer l rank k = ids[t*4 + l*2 + k]
IDS = [0, 1, 2, 3, 4, 5, 6, 7, 1, 0, 3, 2]


def test_ids_unpack_token_major_little_endian():
    r = RoutingResult.from_record(record([257, 2, 3, 4, 5, 6, 7, 299, 0, 1, 2, 3], (3, 2, 2), "uint16"))
    assert r.topk_ids.dtype == np.uint16
    assert r.topk_ids[0, 0].tolist() == [257, 2]
    assert r.topk_ids[1, 1].tolist() == [7, 299]


def test_per_moe_layer_is_tokens_by_k_for_each_layer():
    r = RoutingResult.from_record(record(IDS, (3, 2, 2)))
    layers = r.per_moe_layer()
    assert [a.tolist() for a in layers] == [[[0, 1], [4, 5], [1, 0]], [[2, 3], [6, 7], [3, 2]]]


def test_by_model_layer_fills_dense_layers_and_pads_last_token():
    r = RoutingResult.from_record(record(IDS, (3, 2, 2), moe_layers=(1, 3)))
    out = r.by_model_layer(num_hidden_layers=4, pad_last_token=True)
    x = NO_ROUTE
    assert out.tolist() == [
        [[x, x], [0, 1], [x, x], [2, 3]],
        [[x, x], [4, 5], [x, x], [6, 7]],
        [[x, x], [1, 0], [x, x], [3, 2]],
        [[x, x], [x, x], [x, x], [x, x]],
    ]
    assert r.by_model_layer(num_hidden_layers=4).shape == (3, 4, 2)
    with pytest.raises(ValueError, match="does not fit"):
        r.by_model_layer(num_hidden_layers=3)


def test_weights_take_the_ids_shape():
    w = [i / 10 for i in range(12)]
    r = RoutingResult.from_record(record(IDS, (3, 2, 2), weights=w))
    assert r.topk_weights.shape == (3, 2, 2)
    assert r.topk_weights[2, 1, 0] == np.float32(1.0)


def test_ids_that_do_not_fill_the_shape_are_refused():
    with pytest.raises(ValueError, match="do not fill"):
        RoutingResult.from_record(record(IDS[:-1], (3, 2, 2)))


def test_a_record_from_routing_start_holds_the_rows_from_it():
    # routed positions 0..2; routing_start 1: rows of positions 1 and 2 (the last 8 ids of IDS)
    r = RoutingResult.from_record(record(IDS[4:], (2, 2, 2), routing_start=1))
    assert r.routing_start == 1
    assert r.num_tokens == 3
    assert r.topk_ids.tolist() == RoutingResult.from_record(record(IDS, (3, 2, 2))).topk_ids[1:].tolist()
    assert r.by_model_layer(num_hidden_layers=4, pad_last_token=True).shape == (3, 4, 2)
    with pytest.raises(ValueError, match="do not fill"):  # 3 rows cannot start at position 1 of 3
        RoutingResult.from_record(record(IDS, (3, 2, 2), routing_start=1))


def test_no_routing_returned_is_none_not_an_empty_array():
    r = RoutingResult.from_record(record(None, None))
    assert not r.routing_returned
    assert r.topk_ids is None and r.topk_weights is None
    assert r.num_tokens == 3
    with pytest.raises(ValueError, match="return_routing false"):
        r.per_moe_layer()
