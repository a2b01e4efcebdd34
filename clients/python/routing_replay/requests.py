"""Requests as the job takes them: ``generate``'s JSON request lines, or Avro PromptEvents."""
import json

PROMPT_SCHEMA = "io.routingreplay.schemas.PromptEvent"

# JSON request field -> PromptEvent field, where the names differ
_AVRO_NAMES = {"prompt_text": "prompt"}
_FIELDS = {"rid", "prompt_text", "prompt_token_ids", "max_new_tokens", "temperature", "top_p", "top_k", "seed",
           "stop_token_ids", "ignore_eos", "return_routing_weights", "routing_start", "return_routing", "model",
           "metadata"}


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


def to_json(request: dict) -> bytes:
    check(request)
    return json.dumps(request, ensure_ascii=False).encode("utf-8")


def to_prompt_event(request: dict) -> dict:
    """The PromptEvent record of a JSON-shaped request (absent fields take the schema's defaults)."""
    check(request)
    return {_AVRO_NAMES.get(k, k): v for k, v in request.items()}
