"""Requests as the job takes them: ``generate``'s JSON request lines, or Avro PromptEvents."""
import json

import numpy as np

PROMPT_SCHEMA = "io.routingreplay.schemas.PromptEvent"

# JSON request field -> PromptEvent field, where the names differ
_AVRO_NAMES = {"prompt_text": "prompt"}
_FIELDS = {"rid", "prompt_text", "prompt_token_ids", "max_new_tokens", "temperature", "top_p", "top_k", "seed",
           "stop_token_ids", "ignore_eos", "return_routing_weights", "routing_start", "return_routing", "model",
           "metadata", "forced_routing", "prompt_logprobs"}
_ID_DTYPES = (np.dtype("uint8"), np.dtype("uint16"))


def check(request: dict) -> None:
    """The checks a request can fail before it is sent (the job validates the rest and dead-letters what fails)."""
    unknown = set(request) - _FIELDS
    if unknown:
        raise ValueError(f"unknown request field(s) {sorted(unknown)}; known: {sorted(_FIELDS)}")
    if not isinstance(request.get("rid"), str) or not request["rid"]:
        raise ValueError("every request needs a non-empty string 'rid'")
    if ("prompt_text" in request) == ("prompt_token_ids" in request):
        raise ValueError(f"{request['rid']}: give exactly one of prompt_text / prompt_token_ids")
    start = request.get("routing_start", 0)
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise ValueError(f"{request['rid']}: routing_start must be an integer >= 0 (the first routed position the "
                         f"result returns), got {start!r}")
    if not isinstance(request.get("return_routing", True), bool):
        raise ValueError(f"{request['rid']}: return_routing must be true or false, got {request['return_routing']!r}")
    if not isinstance(request.get("prompt_logprobs", False), bool):
        raise ValueError(f"{request['rid']}: prompt_logprobs must be true or false, got {request['prompt_logprobs']!r}")


def _forced(request: dict):
    """forced_routing as an array: a result's rows (``r.topk_ids[:m]``, uint8/uint16) or nested lists."""
    forced = request["forced_routing"]
    if isinstance(forced, np.ndarray):
        if forced.ndim != 3:
            raise ValueError(f"{request['rid']}: forced_routing must be [m, num_moe_layers, top_k], got shape "
                             f"{forced.shape}")
        return forced
    return None


def to_json(request: dict) -> bytes:
    check(request)
    if "forced_routing" in request and _forced(request) is not None:
        request = dict(request, forced_routing=request["forced_routing"].tolist())
    return json.dumps(request, ensure_ascii=False).encode("utf-8")


def to_prompt_event(request: dict) -> dict:
    """The PromptEvent record of a JSON-shaped request (absent fields take the schema's defaults). forced_routing
    goes packed as a result's routing_ids, so it must be an array in the result's dtype: ``r.topk_ids[:m]``."""
    check(request)
    event = {_AVRO_NAMES.get(k, k): v for k, v in request.items()}
    if "forced_routing" in request:
        forced = _forced(request)
        if forced is None or forced.dtype not in _ID_DTYPES:
            raise ValueError(f"{request['rid']}: an Avro PromptEvent sends forced_routing packed in the model's "
                             f"routing dtype: give a uint8/uint16 array (a result's topk_ids[:m]), not "
                             f"{type(request['forced_routing']).__name__}")
        event["forced_routing"] = np.ascontiguousarray(forced, dtype=forced.dtype.newbyteorder("<")).tobytes()
        event["forced_routing_shape"] = list(forced.shape)
    return event
