"""OTLP/JSON (the specification's and Tempo's flavours) into Spanwise spans."""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

import msgspec

from connectors.otlp import json_schema as js
from connectors.otlp.batch import DecodedBatch, OtlpDecodeError, RejectedSpan, duration_problem
from connectors.otlp.ids import SPAN_ID_HEX_LEN, TRACE_ID_HEX_LEN, InvalidId, id_from_json
from connectors.spans import Attributes, Span, SpanEvent, SpanKind, SpanLink, StatusCode

_KIND_NAMES: dict[str, SpanKind] = {}
for _kind in SpanKind:
    for _alias in (f"SPAN_KIND_{_kind.name}", _kind.name, _kind.name.lower()):
        _KIND_NAMES[_alias] = _kind
_KINDS_BY_NUMBER = tuple(SpanKind)

_STATUS_NAMES: dict[str, StatusCode] = {}
for _status in StatusCode:
    for _alias in (f"STATUS_CODE_{_status.name}", _status.name, _status.name.lower()):
        _STATUS_NAMES[_alias] = _status
_STATUS_BY_NUMBER = tuple(StatusCode)

_SPECIAL_DOUBLES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class _BadSpan(ValueError):
    """A problem confined to one span: ``field`` is where, relative to the span."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def decode_otlp_json(data: bytes | str) -> DecodedBatch:
    """Decode one OTLP/JSON document; see ``connectors.otlp`` for the partial-batch policy."""
    try:
        document = js.document_decoder.decode(data)
    except msgspec.ValidationError as exc:
        path, reason = _split_validation_message(str(exc))
        raise OtlpDecodeError(path, reason) from None
    except msgspec.DecodeError as exc:
        raise OtlpDecodeError("$", f"not valid JSON: {exc}") from None

    if document.resourceSpans is not None:
        return _decode_resource_spans(document.resourceSpans, "resourceSpans")
    if document.batches is not None:
        return _decode_resource_spans(document.batches, "batches")
    if document.trace is not None:
        trace = document.trace
        if trace.batches:
            return _decode_resource_spans(trace.batches, "trace.batches")
        return _decode_resource_spans(trace.resourceSpans, "trace.resourceSpans")
    raise OtlpDecodeError(
        "$", 'no "resourceSpans" (OTLP), "batches" (Tempo v1) or "trace" (Tempo v2) field'
    )


def _split_validation_message(message: str) -> tuple[str, str]:
    """msgspec says ``Expected `int`, got `str` - at `$.resourceSpans[0]...```; reorder it."""
    reason, sep, where = message.rpartition(" - at `")
    if not sep:
        return "$", message
    path = where.rstrip("`")
    if path.startswith("$."):
        path = path[2:]
    return path, reason


def _decode_resource_spans(resource_spans: list[js.ResourceSpans], prefix: str) -> DecodedBatch:
    batch = DecodedBatch()
    spans_out = batch.spans
    last_raw_trace_id = ""
    last_trace_id = ""
    for r_index, rs in enumerate(resource_spans):
        resource: Attributes = (
            _attributes(rs.resource.attributes) if rs.resource is not None else {}
        )
        scope_spans_field = "scopeSpans"
        scope_spans_list = rs.scopeSpans
        if not scope_spans_list and rs.instrumentationLibrarySpans:
            scope_spans_field = "instrumentationLibrarySpans"
            scope_spans_list = rs.instrumentationLibrarySpans
        for s_index, ss in enumerate(scope_spans_list):
            scope_name = ss.scope.name if ss.scope is not None else ""
            scope_version = ss.scope.version if ss.scope is not None else ""
            for sp_index, raw in enumerate(ss.spans):
                try:
                    raw_trace_id = raw.traceId
                    if raw_trace_id == last_raw_trace_id:
                        trace_id = last_trace_id
                    else:
                        trace_id = _id(raw_trace_id, TRACE_ID_HEX_LEN, "traceId")
                        last_raw_trace_id, last_trace_id = raw_trace_id, trace_id
                    span = _span(raw, trace_id, resource, scope_name, scope_version)
                except _BadSpan as bad:
                    path = f"{prefix}[{r_index}].{scope_spans_field}[{s_index}].spans[{sp_index}]"
                    batch.rejected.append(RejectedSpan(f"{path}.{bad.field}", bad.reason))
                    continue
                spans_out.append(span)
    return batch


def _span(
    raw: js.Span, trace_id: str, resource: Attributes, scope_name: str, scope_version: str
) -> Span:
    span_id = _id(raw.spanId, SPAN_ID_HEX_LEN, "spanId")
    parent = raw.parentSpanId
    parent_span_id = _id(parent, SPAN_ID_HEX_LEN, "parentSpanId") if parent else None
    start = _uint64(raw.startTimeUnixNano, "startTimeUnixNano")
    end = _uint64(raw.endTimeUnixNano, "endTimeUnixNano")
    if start == 0:
        raise _BadSpan("startTimeUnixNano", "missing or zero")
    timing = duration_problem(start, end)
    if timing is not None:
        raise _BadSpan("endTimeUnixNano", timing)
    kind = raw.kind
    if isinstance(kind, int):
        span_kind = _KINDS_BY_NUMBER[kind] if 0 <= kind < 6 else SpanKind.UNSPECIFIED
    else:
        found = _KIND_NAMES.get(kind)
        if found is None:
            raise _BadSpan("kind", f"unknown span kind {kind!r}")
        span_kind = found
    status_code = StatusCode.UNSET
    status_message = ""
    status = raw.status
    if status is not None:
        status_message = status.message
        code = status.code
        if isinstance(code, int):
            if not 0 <= code <= 2:
                raise _BadSpan("status.code", f"unknown status code {code}")
            status_code = _STATUS_BY_NUMBER[code]
        elif code:
            found_status = _STATUS_NAMES.get(code)
            if found_status is None:
                raise _BadSpan("status.code", f"unknown status code {code!r}")
            status_code = found_status
    return Span(
        trace_id,
        span_id,
        parent_span_id,
        raw.name,
        span_kind,
        start,
        end,
        _attributes(raw.attributes) if raw.attributes else {},
        resource,
        status_code,
        status_message,
        scope_name,
        scope_version,
        [_event(e, i) for i, e in enumerate(raw.events)] if raw.events else [],
        [_link(k, i) for i, k in enumerate(raw.links)] if raw.links else [],
        raw.traceState,
    )


def _id(raw: str, hex_len: int, field: str) -> str:
    try:
        value = id_from_json(raw, hex_len)
    except InvalidId as exc:
        raise _BadSpan(field, str(exc)) from None
    if value == "0" * hex_len:
        raise _BadSpan(field, "all zeros, which OTLP forbids")
    return value


def _uint64(raw: int | str, field: str) -> int:
    if isinstance(raw, int):
        value = raw
    else:
        try:
            value = int(raw)
        except ValueError:
            raise _BadSpan(field, f"{raw!r} is not an integer") from None
    if not 0 <= value < 1 << 64:
        raise _BadSpan(field, f"{raw!r} is outside the unsigned 64-bit range")
    return value


def _event(raw: js.Event, index: int) -> SpanEvent:
    return SpanEvent(
        raw.name,
        _uint64(raw.timeUnixNano, f"events[{index}].timeUnixNano"),
        _attributes(raw.attributes) if raw.attributes else {},
    )


def _link(raw: js.Link, index: int) -> SpanLink:
    return SpanLink(
        _id(raw.traceId, TRACE_ID_HEX_LEN, f"links[{index}].traceId"),
        _id(raw.spanId, SPAN_ID_HEX_LEN, f"links[{index}].spanId"),
        _attributes(raw.attributes) if raw.attributes else {},
    )


def _attributes(pairs: list[js.KeyValue]) -> Attributes:
    out: Attributes = {}
    for kv in pairs:
        value = kv.value
        if value is None:
            out[kv.key] = None
            continue
        string = value.stringValue
        out[kv.key] = string if string is not None else _any_value(value, kv.key)
    return out


def _any_value(value: js.AnyValue, key: str) -> Any:
    if value.stringValue is not None:
        return value.stringValue
    if value.intValue is not None:
        raw_int = value.intValue
        if isinstance(raw_int, int):
            return raw_int
        try:
            return int(raw_int)
        except ValueError:
            raise _BadSpan(
                f"attributes[{key}]", f"intValue {raw_int!r} is not an integer"
            ) from None
    if value.boolValue is not None:
        return value.boolValue
    if value.doubleValue is not None:
        raw_double = value.doubleValue
        if isinstance(raw_double, str):
            special = _SPECIAL_DOUBLES.get(raw_double)
            if special is None:
                try:
                    return float(raw_double)
                except ValueError:
                    raise _BadSpan(
                        f"attributes[{key}]", f"doubleValue {raw_double!r} is not a number"
                    ) from None
            return special
        return float(raw_double)
    if value.bytesValue is not None:
        try:
            return base64.b64decode(value.bytesValue, validate=True)
        except (binascii.Error, ValueError):
            raise _BadSpan(f"attributes[{key}]", "bytesValue is not base64") from None
    if value.arrayValue is not None:
        return [_any_value(v, key) for v in value.arrayValue.values]
    if value.kvlistValue is not None:
        return _attributes(value.kvlistValue.values)
    return None
