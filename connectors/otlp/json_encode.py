"""Spanwise spans back into OTLP/JSON as the specification writes it.

Hex ids, integer enums, 64-bit integers as strings: what an OpenTelemetry Collector's
``otlpjsonfile`` receiver and every other conforming reader expects.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable
from typing import Any

import msgspec

from connectors.otlp.grouping import group_by_resource_and_scope
from connectors.spans import Attributes, Span

_encoder = msgspec.json.Encoder()


def encode_otlp_json(spans: Iterable[Span]) -> bytes:
    """One compact OTLP/JSON ``{"resourceSpans": [...]}`` document."""
    return _encoder.encode(otlp_json_document(spans))


def otlp_json_document(spans: Iterable[Span]) -> dict[str, Any]:
    resource_spans = []
    for resource, scopes in group_by_resource_and_scope(spans):
        resource_spans.append(
            {
                "resource": {"attributes": _attributes(resource)},
                "scopeSpans": [
                    {
                        "scope": {"name": name, "version": version},
                        "spans": [_span(span) for span in scope_spans],
                    }
                    for (name, version), scope_spans in scopes.items()
                ],
            }
        )
    return {"resourceSpans": resource_spans}


def _span(span: Span) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "kind": int(span.kind),
        "startTimeUnixNano": str(span.start_unix_nano),
        "endTimeUnixNano": str(span.end_unix_nano),
        "attributes": _attributes(span.attributes),
        "status": {"code": int(span.status_code), "message": span.status_message},
    }
    if span.parent_span_id:
        out["parentSpanId"] = span.parent_span_id
    if span.trace_state:
        out["traceState"] = span.trace_state
    if span.events:
        out["events"] = [
            {
                "timeUnixNano": str(e.time_unix_nano),
                "name": e.name,
                "attributes": _attributes(e.attributes),
            }
            for e in span.events
        ]
    if span.links:
        out["links"] = [
            {"traceId": k.trace_id, "spanId": k.span_id, "attributes": _attributes(k.attributes)}
            for k in span.links
        ]
    return out


def _attributes(attributes: Attributes) -> list[dict[str, Any]]:
    return [{"key": key, "value": _any_value(value)} for key, value in attributes.items()]


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        if math.isnan(value):
            return {"doubleValue": "NaN"}
        if math.isinf(value):
            return {"doubleValue": "Infinity" if value > 0 else "-Infinity"}
        return {"doubleValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [_any_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": _attributes(value)}}
    if value is None:
        return {}
    return {"stringValue": str(value)}
