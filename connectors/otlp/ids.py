"""Trace and span ids: lower-case hex, zero-padded, from any of the encodings OTLP uses.

OTLP/JSON (the specification) writes ids as hex; Tempo's JSON writes them as base64, the
protobuf JSON mapping of ``bytes``. The two never have the same length (32 hex vs 24 base64
characters for a trace id, 16 vs 12 for a span id), so the length alone tells them apart.
"""

from __future__ import annotations

import base64
import binascii
import re

_HEX = re.compile(r"[0-9a-f]+")
_HEX_ANY_CASE = re.compile(r"[0-9a-fA-F]+")

TRACE_ID_HEX_LEN = 32
SPAN_ID_HEX_LEN = 16


class InvalidId(ValueError):
    """An id that is neither hex of the right length nor base64 of the right byte count."""


def id_from_json(raw: str, hex_len: int) -> str:
    """Decode a JSON id (hex or base64) to lower-case hex; raise InvalidId with the reason."""
    if len(raw) == hex_len:
        if _HEX.fullmatch(raw):
            return raw
        if _HEX_ANY_CASE.fullmatch(raw):
            return raw.lower()
        raise InvalidId(f"not {hex_len} hex characters")
    byte_len = hex_len // 2
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidId(f"not {hex_len} hex characters nor base64 of {byte_len} bytes") from None
    if len(decoded) != byte_len:
        raise InvalidId(f"not {hex_len} hex characters nor base64 of {byte_len} bytes")
    return decoded.hex()


def normalize_trace_id(raw: str) -> str:
    """A trace id as people type it or Tempo's search returns it (leading zeros dropped)."""
    text = raw.strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if not text or len(text) > TRACE_ID_HEX_LEN or not _HEX.fullmatch(text):
        raise InvalidId(f"{raw!r} is not a trace id of at most {TRACE_ID_HEX_LEN} hex characters")
    return text.rjust(TRACE_ID_HEX_LEN, "0")
