"""One routing-replay result as numpy arrays, and the layouts RL trainers feed their router replay with."""
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

RESULT_SCHEMA = "io.routingreplay.schemas.RoutingResult"
NO_ROUTE = -1  # dense layers and padded positions: never a real expert id

_DTYPES = {"uint8": np.dtype("<u1"), "uint16": np.dtype("<u2")}


@dataclass(frozen=True)
class RoutingResult:
    rid: str
    model: str
    prompt_token_ids: List[int]
    output_token_ids: List[int]
    output_logprobs: List[float]
    finish_reason: str
    # [num_tokens - routing_start, num_moe_layers, top_k], uint8 or uint16: row r = prompt + output position
    # routing_start + r; None when the request asked for no routing (return_routing false)
    topk_ids: Optional[np.ndarray]
    topk_weights: Optional[np.ndarray]  # same shape, float32, what each layer multiplied expert outputs by; or None
    moe_layer_indices: List[int]  # model layer index of each MoE layer (dense layers have no entry)
    num_experts: int
    seed: Optional[int]
    metadata: Dict[str, str]
    # the routed position of topk_ids' first row: the request's routing_start (a multi-turn trainer holds the rows
    # before it from the earlier turns)
    routing_start: int = 0
    # with prompt_logprobs: the logprob of prompt token i + 1 given tokens 0..i (prompt - 1 values); else None
    prompt_logprobs: Optional[List[float]] = None
    # with forced_routing: {"positions", "mismatched_positions" (per MoE layer), "cells", "cells_reproduced"}; else None
    forced_routing: Optional[dict] = None

    @staticmethod
    def from_record(rec: dict) -> "RoutingResult":
        """From a decoded RoutingResult Avro record (see :mod:`routing_replay.wire`)."""
        start = rec.get("routing_start", 0)
        topk_ids = topk_weights = None
        if rec["routing_ids"] is not None:  # None: return_routing was false
            shape = tuple(rec["routing_shape"])
            dtype = _DTYPES.get(rec["routing_dtype"])
            if dtype is None:
                raise ValueError(f"{rec['rid']}: unknown routing_dtype {rec['routing_dtype']!r}")
            ids = np.frombuffer(rec["routing_ids"], dtype=dtype)
            if ids.size != int(np.prod(shape)) or shape[0] != rec["num_tokens"] - start:
                raise ValueError(f"{rec['rid']}: {ids.size} routing ids do not fill shape {shape} "
                                 f"(positions {start}..{rec['num_tokens'] - 1})")
            topk_ids = ids.reshape(shape).astype(dtype.newbyteorder("="))
            weights = rec.get("routing_weights")
            topk_weights = None if weights is None else np.asarray(weights, dtype=np.float32).reshape(shape)
        return RoutingResult(
            rid=rec["rid"], model=rec["model"], prompt_token_ids=list(rec["prompt_token_ids"]),
            output_token_ids=list(rec["output_token_ids"]), output_logprobs=list(rec["output_logprobs"]),
            finish_reason=rec["finish_reason"],
            topk_ids=topk_ids, topk_weights=topk_weights,
            moe_layer_indices=list(rec["layout"]["moe_layer_indices"]), num_experts=rec["layout"]["num_experts"],
            seed=rec.get("seed"), metadata=dict(rec.get("metadata") or {}), routing_start=start,
            prompt_logprobs=None if rec.get("prompt_logprobs") is None else list(rec["prompt_logprobs"]),
            forced_routing=None if rec.get("forced_routing") is None else dict(rec["forced_routing"]))

    @property
    def num_tokens(self) -> int:
        """Routed tokens of the request: prompt + output - 1 (the last sampled token is never fed back); topk_ids
        holds positions routing_start .. num_tokens - 1."""
        return len(self.prompt_token_ids) + len(self.output_token_ids) - 1

    @property
    def routing_returned(self) -> bool:
        """False when the request asked for no routing (return_routing false): topk_ids and topk_weights are None."""
        return self.topk_ids is not None

    def _ids(self) -> np.ndarray:
        if self.topk_ids is None:
            raise ValueError(f"{self.rid}: no routing was returned (the request had return_routing false)")
        return self.topk_ids

    def per_moe_layer(self) -> List[np.ndarray]:
        """One ``[num_tokens, top_k]`` array per MoE layer, in layer order (Megatron's ``RouterReplay`` takes one
        per layer)."""
        ids = self._ids()
        return [ids[:, i, :] for i in range(ids.shape[1])]

    def by_model_layer(self, num_hidden_layers: int, pad_last_token: bool = False) -> np.ndarray:
        """``[rows (+1), num_hidden_layers, top_k]`` int32 with model layer indices (verl's layout), rows = the rows
        of topk_ids (positions routing_start ..): dense layers hold -1; with ``pad_last_token`` a row of -1 is
        appended for the last sampled token, so the array covers every position of prompt + output from
        routing_start."""
        ids = self._ids()
        if self.moe_layer_indices and max(self.moe_layer_indices) >= num_hidden_layers:
            raise ValueError(f"{self.rid}: MoE layer {max(self.moe_layer_indices)} does not fit "
                             f"{num_hidden_layers} hidden layers")
        rows = ids.shape[0]
        out = np.full((rows + (1 if pad_last_token else 0), num_hidden_layers, ids.shape[2]), NO_ROUTE,
                      dtype=np.int32)
        out[:rows, self.moe_layer_indices, :] = ids
        return out
