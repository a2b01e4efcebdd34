"""routing-replay's Python client: publish requests, read results with per-token MoE routing as numpy arrays.

    from routing_replay import publish, read_results
    publish("localhost:9092", "prompts", [{"rid": "r1", "prompt_text": "Hello", "max_new_tokens": 8}])
    for r in read_results("localhost:9092", "results", group_id="trainer", max_results=1):
        ids = r.topk_ids  # [num_tokens, num_moe_layers, top_k]
"""
from .kafka_io import publish, read_results
from .result import NO_ROUTE, RoutingResult
from .wire import STORE, WireFormatError

__all__ = ["publish", "read_results", "RoutingResult", "NO_ROUTE", "STORE", "WireFormatError"]
