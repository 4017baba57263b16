"""Send spans to an OTLP/HTTP traces endpoint, as an OpenTelemetry SDK exporter would."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import msgspec
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from connectors.otlp import encode_otlp_json, encode_otlp_protobuf
from connectors.spans import Span


class OtlpExportError(RuntimeError):
    """The receiver refused a batch; the message is its own."""


@dataclass(frozen=True)
class ExportResult:
    accepted: int
    rejected: int
    error_message: str = ""


def export_spans(
    client: httpx.Client, url: str, spans: Sequence[Span], *, protobuf: bool, compress: bool
) -> ExportResult:
    """POST one batch; return what the receiver says it kept."""
    body = encode_otlp_protobuf(spans) if protobuf else encode_otlp_json(spans)
    content_type = "application/x-protobuf" if protobuf else "application/json"
    headers = {"content-type": content_type}
    if compress:
        body = gzip.compress(body, compresslevel=1)
        headers["content-encoding"] = "gzip"
    answer = client.post(url, content=body, headers=headers)
    if answer.status_code != 200:
        raise OtlpExportError(f"{url} answered {answer.status_code}: {answer.text[:500]}")
    rejected, message = 0, ""
    if protobuf:
        parsed = ExportTraceServiceResponse.FromString(answer.content)
        rejected = parsed.partial_success.rejected_spans
        message = parsed.partial_success.error_message
    else:
        partial = msgspec.json.decode(answer.content).get("partialSuccess") or {}
        rejected = int(partial.get("rejectedSpans", 0))
        message = partial.get("errorMessage", "")
    return ExportResult(len(spans) - rejected, rejected, message)
