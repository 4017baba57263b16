"""An HTTP body of spans: decompress within a limit, then decode by content type."""

from __future__ import annotations

import re
import zlib

from connectors.otlp.batch import DecodedBatch, OtlpDecodeError
from connectors.otlp.json_decode import decode_otlp_json
from connectors.otlp.proto_decode import decode_otlp_protobuf

JSON_TYPES = frozenset({"application/json"})
PROTOBUF_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})


class BodyTooLarge(ValueError):
    """The body, or what it decompresses to, is over the limit."""


class UnsupportedContentType(ValueError):
    pass


class UnsupportedContentEncoding(ValueError):
    pass


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def decompress(data: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo ``gzip`` or ``deflate`` without ever holding more than ``max_bytes`` of output.

    A small compressed body can expand a thousandfold; reading it in bounded steps turns a
    decompression bomb into a clean ``BodyTooLarge``.
    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        if len(data) > max_bytes:
            raise BodyTooLarge(f"body of {len(data)} bytes is over the {max_bytes}-byte limit")
        return data
    if encoding == "gzip":
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS
    else:
        raise UnsupportedContentEncoding(
            f"Content-Encoding {content_encoding!r} is not supported; use gzip or none"
        )
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise OtlpDecodeError("$", f"body is not valid {encoding}: {exc}") from None
    if len(out) > max_bytes:
        raise BodyTooLarge(f"body decompresses to more than the {max_bytes}-byte limit")
    if not inflater.eof:
        raise OtlpDecodeError("$", f"{encoding} body is truncated")
    return out


_EMPTY_OBJECT = re.compile(rb"\s*\{\s*\}\s*")


def decode_body(
    data: bytes, content_type: str | None, content_encoding: str | None, max_bytes: int
) -> DecodedBatch:
    """Decode an OTLP/HTTP traces body; raise the errors above or ``OtlpDecodeError``."""
    kind = media_type(content_type)
    if kind not in JSON_TYPES and kind not in PROTOBUF_TYPES:
        raise UnsupportedContentType(
            f"Content-Type {content_type!r} is not OTLP; send application/json "
            "or application/x-protobuf"
        )
    raw = decompress(data, content_encoding, max_bytes)
    if kind in JSON_TYPES:
        if _EMPTY_OBJECT.fullmatch(raw):
            # An ExportTraceServiceRequest with no spans, as proto3's JSON writes it: valid.
            return DecodedBatch(spans=[], rejected=[])
        try:
            return decode_otlp_json(raw)
        except RecursionError:  # a value nested hundreds deep: no exporter writes that
            raise OtlpDecodeError(
                "$", "a value is nested too deep to be a span attribute"
            ) from None
    try:
        return decode_otlp_protobuf(raw)
    except RecursionError:
        raise OtlpDecodeError("$", "a value is nested too deep to be a span attribute") from None
