"""Single-object framing: the Avro specification's fingerprint, schema resolution from an older writer, and clear
errors for what is not a routing-replay record."""
import io
import json
import struct
from importlib import resources

import fastavro
import pytest

from routing_replay.wire import STORE, WireFormatError, fingerprint64


def test_fingerprint_matches_the_avro_specification():
    # CRC-64-AVRO of the canonical form "null", as listed in the Avro specification's test data
    assert fingerprint64('"null"') == 7195948357588979594


def test_a_v1_prompt_event_is_read_with_the_current_schema():
    raw = json.loads(resources.files("routing_replay").joinpath("schemas/PromptEvent-v1.avsc").read_text())
    v1 = fastavro.parse_schema(raw)
    body = io.BytesIO()
    fastavro.schemaless_writer(body, v1, {"rid": "old", "prompt": "hi", "prompt_token_ids": None,
                                          "max_new_tokens": 3, "temperature": 0.0, "top_p": 1.0, "top_k": 0,
                                          "seed": None, "stop_token_ids": [], "ignore_eos": False, "model": None,
                                          "submitted_at": 0})
    from fastavro.schema import to_parsing_canonical_form
    value = b"\xc3\x01" + struct.pack("<Q", fingerprint64(to_parsing_canonical_form(raw))) + body.getvalue()
    rec = STORE.decode(value)
    assert rec["rid"] == "old" and rec["max_new_tokens"] == 3
    assert rec["return_routing_weights"] is False and rec["metadata"] == {}  # v2 fields take their defaults


def test_unframed_and_unknown_values_are_refused_with_a_reason():
    with pytest.raises(WireFormatError, match="not Avro single-object encoded"):
        STORE.decode(b'{"rid": "x"}')
    with pytest.raises(WireFormatError, match="unknown writer schema fingerprint"):
        STORE.decode(b"\xc3\x01" + b"\x00" * 8 + b"\x02")
