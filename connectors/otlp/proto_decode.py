"""OTLP protobuf (the OTLP/HTTP body, and Tempo's ``application/protobuf`` answers) into spans.

Tempo's v1 by-id answer is a ``tempopb.Trace``, whose only field (1, repeated ResourceSpans)
is laid out on the wire exactly as OTLP's ``TracesData`` and ``ExportTraceServiceRequest``.
Its v2 answer, ``tempopb.TraceByIDResponse``, wraps that ``Trace`` in field 1; we unwrap it
by reading the wire format rather than compiling Tempo's own .proto files.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from connectors.otlp.batch import DecodedBatch, OtlpDecodeError, RejectedSpan, duration_problem
from connectors.spans import Attributes, Span, SpanEvent, SpanKind, SpanLink, StatusCode

_KINDS = tuple(SpanKind)
_STATUSES = tuple(StatusCode)
_ZERO_TRACE_ID = bytes(16)
_ZERO_SPAN_ID = bytes(8)


def decode_otlp_protobuf(data: bytes) -> DecodedBatch:
    """Decode an ``ExportTraceServiceRequest`` (or ``TracesData``, or a ``tempopb.Trace``)."""
    try:
        request = ExportTraceServiceRequest.FromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise OtlpDecodeError("$", f"not a valid OTLP protobuf message: {exc}") from None
    return _decode_request(request)


def decode_tempo_protobuf(data: bytes, *, v2: bool) -> DecodedBatch:
    """Decode Tempo's by-id answer: v1 ``tempopb.Trace``, v2 ``tempopb.TraceByIDResponse``."""
    if not v2:
        return decode_otlp_protobuf(data)
    trace = _length_delimited_field(data, field_number=1)
    return decode_otlp_protobuf(trace) if trace else DecodedBatch()


def _length_delimited_field(data: bytes, field_number: int) -> bytes:
    """The bytes of the last occurrence of a length-delimited field of a message."""
    found = b""
    position = 0
    size = len(data)
    try:
        while position < size:
            key, position = _varint(data, position)
            number, wire_type = key >> 3, key & 7
            if wire_type == 0:
                _, position = _varint(data, position)
            elif wire_type == 1:
                position += 8
            elif wire_type == 2:
                length, position = _varint(data, position)
                if number == field_number:
                    found = data[position : position + length]
                position += length
            elif wire_type == 5:
                position += 4
            else:
                raise OtlpDecodeError("$", f"unsupported protobuf wire type {wire_type}")
            if position > size:
                raise OtlpDecodeError("$", "protobuf message is truncated")
    except IndexError:
        raise OtlpDecodeError("$", "protobuf message is truncated") from None
    return found


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise OtlpDecodeError("$", "malformed protobuf varint")


def _decode_request(request: ExportTraceServiceRequest) -> DecodedBatch:
    batch = DecodedBatch()
    out = batch.spans
    for r_index, rs in enumerate(request.resource_spans):
        resource = _attributes(rs.resource.attributes)
        for s_index, ss in enumerate(rs.scope_spans):
            scope_name = ss.scope.name
            scope_version = ss.scope.version
            last_raw_trace_id = b""
            last_trace_id = ""
            for sp_index, raw in enumerate(ss.spans):
                raw_trace_id = raw.trace_id
                raw_span_id = raw.span_id
                raw_parent = raw.parent_span_id
                problem = _id_problem(raw_trace_id, raw_span_id, raw_parent)
                start = raw.start_time_unix_nano
                end = raw.end_time_unix_nano
                if problem is None:
                    if start == 0:
                        problem = ("startTimeUnixNano", "missing or zero")
                    elif (timing := duration_problem(start, end)) is not None:
                        problem = ("endTimeUnixNano", timing)
                if problem is not None:
                    path = f"resourceSpans[{r_index}].scopeSpans[{s_index}].spans[{sp_index}]"
                    batch.rejected.append(RejectedSpan(f"{path}.{problem[0]}", problem[1]))
                    continue
                if raw_trace_id != last_raw_trace_id:
                    last_raw_trace_id, last_trace_id = raw_trace_id, raw_trace_id.hex()
                kind = raw.kind
                status = raw.status
                code = status.code
                out.append(
                    Span(
                        last_trace_id,
                        raw_span_id.hex(),
                        raw_parent.hex() if raw_parent else None,
                        raw.name,
                        _KINDS[kind] if 0 <= kind < 6 else SpanKind.UNSPECIFIED,
                        start,
                        end,
                        _attributes(raw.attributes) if raw.attributes else {},
                        resource,
                        _STATUSES[code] if 0 <= code <= 2 else StatusCode.UNSET,
                        status.message,
                        scope_name,
                        scope_version,
                        [
                            SpanEvent(e.name, e.time_unix_nano, _attributes(e.attributes))
                            for e in raw.events
                        ]
                        if raw.events
                        else [],
                        [
                            SpanLink(k.trace_id.hex(), k.span_id.hex(), _attributes(k.attributes))
                            for k in raw.links
                        ]
                        if raw.links
                        else [],
                        raw.trace_state,
                    )
                )
    return batch


def _id_problem(trace_id: bytes, span_id: bytes, parent: bytes) -> tuple[str, str] | None:
    if len(trace_id) != 16:
        return "traceId", f"{len(trace_id)} bytes, not 16"
    if trace_id == _ZERO_TRACE_ID:
        return "traceId", "all zeros, which OTLP forbids"
    if len(span_id) != 8:
        return "spanId", f"{len(span_id)} bytes, not 8"
    if span_id == _ZERO_SPAN_ID:
        return "spanId", "all zeros, which OTLP forbids"
    if parent and len(parent) != 8:
        return "parentSpanId", f"{len(parent)} bytes, not 8"
    return None


_NESTED = frozenset({"array_value", "kvlist_value"})


def _attributes(pairs: Any) -> Attributes:
    out: Attributes = {}
    for kv in pairs:
        value = kv.value
        which = value.WhichOneof("value")
        if which is None:
            out[kv.key] = None
        elif which in _NESTED:
            out[kv.key] = _any_value(value)
        else:
            out[kv.key] = getattr(value, which)
    return out


def _any_value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if which is None:
        return None
    return getattr(value, which)
