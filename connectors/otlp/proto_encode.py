"""Spanwise spans into an OTLP protobuf ``ExportTraceServiceRequest``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from connectors.otlp.grouping import group_by_resource_and_scope
from connectors.spans import Attributes, Span


def encode_otlp_protobuf(spans: Iterable[Span]) -> bytes:
    request = ExportTraceServiceRequest()
    for resource, scopes in group_by_resource_and_scope(spans):
        rs = request.resource_spans.add()
        _fill_attributes(rs.resource.attributes, resource)
        for (name, version), scope_spans in scopes.items():
            ss = rs.scope_spans.add()
            ss.scope.name = name
            ss.scope.version = version
            for span in scope_spans:
                out = ss.spans.add()
                out.trace_id = bytes.fromhex(span.trace_id)
                out.span_id = bytes.fromhex(span.span_id)
                if span.parent_span_id:
                    out.parent_span_id = bytes.fromhex(span.parent_span_id)
                out.trace_state = span.trace_state
                out.name = span.name
                out.kind = int(span.kind)  # type: ignore[assignment]
                out.start_time_unix_nano = span.start_unix_nano
                out.end_time_unix_nano = span.end_unix_nano
                _fill_attributes(out.attributes, span.attributes)
                out.status.code = int(span.status_code)  # type: ignore[assignment]
                out.status.message = span.status_message
                for event in span.events:
                    e = out.events.add()
                    e.name = event.name
                    e.time_unix_nano = event.time_unix_nano
                    _fill_attributes(e.attributes, event.attributes)
                for link in span.links:
                    k = out.links.add()
                    k.trace_id = bytes.fromhex(link.trace_id)
                    k.span_id = bytes.fromhex(link.span_id)
                    _fill_attributes(k.attributes, link.attributes)
    return request.SerializeToString()


def _fill_attributes(target: Any, attributes: Attributes) -> None:
    for key, value in attributes.items():
        kv = target.add()
        kv.key = key
        _fill_value(kv.value, value)


def _fill_value(target: AnyValue, value: Any) -> None:
    if isinstance(value, str):
        target.string_value = value
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, bytes):
        target.bytes_value = value
    elif isinstance(value, list | tuple):
        array = target.array_value
        array.SetInParent()  # an empty list is still a list, not "no value"
        for item in value:
            _fill_value(array.values.add(), item)
    elif isinstance(value, dict):
        target.kvlist_value.SetInParent()
        _fill_attributes(target.kvlist_value.values, value)
    elif value is not None:
        target.string_value = str(value)
