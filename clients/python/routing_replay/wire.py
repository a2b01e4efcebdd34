"""Avro single-object encoding, the framing of every routing-replay topic value.

A value is ``C3 01`` + the writer schema's CRC-64-AVRO fingerprint (8 bytes, little-endian) + the Avro binary body.
The schemas shipped in ``schemas/`` (the current version of each record and every released earlier one, each file
self-contained) are the only writers this reader trusts: a value written with any of them is resolved to the current
schema of the same record; any other value raises :class:`WireFormatError` naming what was found.
"""
import io
import json
import struct
from importlib import resources

import fastavro
from fastavro.schema import to_parsing_canonical_form

MAGIC = b"\xc3\x01"
HEADER_LEN = 10

_EMPTY = 0xC15D213AA4D7A795
_TABLE = []
for _i in range(256):
    _fp = _i
    for _ in range(8):
        _fp = (_fp >> 1) ^ (_EMPTY & -(_fp & 1))
    _TABLE.append(_fp)


class WireFormatError(ValueError):
    """A value that is not a single-object-encoded record of a known routing-replay schema."""


def fingerprint64(canonical: str) -> int:
    """CRC-64-AVRO of a schema's Parsing Canonical Form (the Avro specification's algorithm)."""
    fp = _EMPTY
    for b in canonical.encode("utf-8"):
        fp = (fp >> 8) ^ _TABLE[(fp ^ b) & 0xFF]
    return fp


class SchemaStore:
    """Writer schemas by fingerprint, and the current (reader) schema of each record by full name: the files are
    ``<Record>-v<N>.avsc``, a copy of the job's ``schemas/src/main/resources/avro-history`` (the highest N of a
    record is its current version)."""

    def __init__(self):
        self._writers = {}  # fingerprint -> parsed schema
        self.current = {}  # full name -> parsed schema of the newest version
        self._current_fp = {}  # full name -> its fingerprint
        newest = {}  # full name -> version number
        for entry in resources.files(__package__).joinpath("schemas").iterdir():
            if not entry.name.endswith(".avsc"):
                continue
            version = int(entry.name[:-len(".avsc")].rsplit("-v", 1)[1])
            raw = json.loads(entry.read_text(encoding="utf-8"))
            parsed = fastavro.parse_schema(raw, named_schemas={})
            fp = fingerprint64(to_parsing_canonical_form(raw))
            self._writers[fp] = parsed
            name = parsed["name"]
            if version > newest.get(name, 0):
                newest[name] = version
                self.current[name] = parsed
                self._current_fp[name] = fp

    def schema(self, full_name: str):
        try:
            return self.current[full_name]
        except KeyError:
            raise WireFormatError(f"no schema named {full_name}; known: {sorted(self.current)}") from None

    def decode(self, value: bytes, expect: str = None) -> dict:
        """The record in ``value``, resolved to the current schema of its name (or of ``expect`` when given)."""
        if value is None or len(value) < HEADER_LEN or value[:2] != MAGIC:
            head = b"" if value is None else value[:4]
            raise WireFormatError(f"not Avro single-object encoded (expected C3 01 + 8-byte fingerprint, found "
                                  f"{head.hex() or 'nothing'}); was it written by a routing-replay job?")
        fp = struct.unpack("<Q", value[2:HEADER_LEN])[0]
        writer = self._writers.get(fp)
        if writer is None:
            raise WireFormatError(f"unknown writer schema fingerprint {fp:016x}: written by a newer routing-replay "
                                  f"than this client (update the client)")
        reader = self.schema(expect or writer["name"])
        return fastavro.schemaless_reader(io.BytesIO(value[HEADER_LEN:]), writer, reader)

    def encode(self, full_name: str, record: dict) -> bytes:
        """``record`` as a single-object-encoded value of the current schema ``full_name``."""
        schema = self.schema(full_name)
        out = io.BytesIO()
        out.write(MAGIC)
        out.write(struct.pack("<Q", self._current_fp[full_name]))
        fastavro.schemaless_writer(out, schema, record)
        return out.getvalue()


STORE = SchemaStore()
