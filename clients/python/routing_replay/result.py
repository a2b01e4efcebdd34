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
    topk_ids: np.ndarray  # [num_tokens, num_moe_layers, top_k], uint8 or uint16: token t = prompt + output position t
    topk_weights: Optional[np.ndarray]  # same shape, float32, what each layer multiplied expert outputs by; or None
    moe_layer_indices: List[int]  # model layer index of each MoE layer (dense layers have no entry)
    num_experts: int
    seed: Optional[int]
    metadata: Dict[str, str]

    @staticmethod
    def from_record(rec: dict) -> "RoutingResult":
        """From a decoded RoutingResult Avro record (see :mod:`routing_replay.wire`)."""
        shape = tuple(rec["routing_shape"])
        dtype = _DTYPES.get(rec["routing_dtype"])
        if dtype is None:
            raise ValueError(f"{rec['rid']}: unknown routing_dtype {rec['routing_dtype']!r}")
        ids = np.frombuffer(rec["routing_ids"], dtype=dtype)
        if ids.size != int(np.prod(shape)) or shape[0] != rec["num_tokens"]:
            raise ValueError(f"{rec['rid']}: {ids.size} routing ids do not fill shape {shape}")
        weights = rec.get("routing_weights")
        return RoutingResult(
            rid=rec["rid"], model=rec["model"], prompt_token_ids=list(rec["prompt_token_ids"]),
            output_token_ids=list(rec["output_token_ids"]), output_logprobs=list(rec["output_logprobs"]),
            finish_reason=rec["finish_reason"],
            topk_ids=ids.reshape(shape).astype(dtype.newbyteorder("=")),
            topk_weights=None if weights is None else np.asarray(weights, dtype=np.float32).reshape(shape),
            moe_layer_indices=list(rec["layout"]["moe_layer_indices"]), num_experts=rec["layout"]["num_experts"],
            seed=rec.get("seed"), metadata=dict(rec.get("metadata") or {}))

    @property
    def num_tokens(self) -> int:
        """Routed tokens: prompt + output - 1 (the last sampled token is never fed back)."""
        return self.topk_ids.shape[0]

    def per_moe_layer(self) -> List[np.ndarray]:
        """One ``[num_tokens, top_k]`` array per MoE layer, in layer order (Megatron's ``RouterReplay`` takes one
        per layer)."""
        return [self.topk_ids[:, i, :] for i in range(self.topk_ids.shape[1])]

    def by_model_layer(self, num_hidden_layers: int, pad_last_token: bool = False) -> np.ndarray:
        """``[num_tokens (+1), num_hidden_layers, top_k]`` int32 with model layer indices (verl's layout): dense
        layers hold -1; with ``pad_last_token`` a row of -1 is appended for the last sampled token, so the array
        covers every position of prompt + output."""
        if self.moe_layer_indices and max(self.moe_layer_indices) >= num_hidden_layers:
            raise ValueError(f"{self.rid}: MoE layer {max(self.moe_layer_indices)} does not fit "
                             f"{num_hidden_layers} hidden layers")
        tokens = self.num_tokens + (1 if pad_last_token else 0)
        out = np.full((tokens, num_hidden_layers, self.topk_ids.shape[2]), NO_ROUTE, dtype=np.int32)
        out[: self.num_tokens, self.moe_layer_indices, :] = self.topk_ids
        return out
