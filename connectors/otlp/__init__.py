"""OTLP traces in and out: JSON (the specification's and Tempo's), protobuf, gzip.

Partly bad documents
--------------------
A body that is not JSON or protobuf at all, or whose JSON does not have OTLP's shape (a
string where a list belongs, say), is rejected whole with ``OtlpDecodeError``, naming the
first problem's path. Inside a well-shaped document every span stands on its own: a span
whose ids, timestamps, kind or status are invalid is left out and reported as a
``RejectedSpan`` (path and reason), and every good span of the document is kept. Nothing is
dropped silently: the receiver answers with OTLP's ``partialSuccess`` (rejected count and a
message) and the CLI prints the reasons.
"""

from connectors.otlp.batch import DecodedBatch, OtlpDecodeError, RejectedSpan
from connectors.otlp.body import (
    BodyTooLarge,
    UnsupportedContentEncoding,
    UnsupportedContentType,
    decode_body,
    decompress,
)
from connectors.otlp.ids import InvalidId, normalize_trace_id
from connectors.otlp.json_decode import decode_otlp_json
from connectors.otlp.json_encode import encode_otlp_json, otlp_json_document
from connectors.otlp.proto_decode import decode_otlp_protobuf, decode_tempo_protobuf
from connectors.otlp.proto_encode import encode_otlp_protobuf

__all__ = [
    "BodyTooLarge",
    "DecodedBatch",
    "InvalidId",
    "OtlpDecodeError",
    "RejectedSpan",
    "UnsupportedContentEncoding",
    "UnsupportedContentType",
    "decode_body",
    "decode_otlp_json",
    "decode_otlp_protobuf",
    "decode_tempo_protobuf",
    "decompress",
    "encode_otlp_json",
    "encode_otlp_protobuf",
    "normalize_trace_id",
    "otlp_json_document",
]
