"""OTLP/JSON as typed msgspec structs, shaped like the protobuf messages.

Decoding into typed structs is the fastest way Python has to read OTLP/JSON, and it checks
the document's shape on the way: a wrong type anywhere is reported with its path. Field
names are the lowerCamelCase names of the OTLP/JSON encoding. Fields that may be written
two ways (64-bit integers as string or number, enums as integer or name) are unions.
Unknown fields are ignored, as the specification requires of receivers.
"""

from __future__ import annotations

import msgspec


class ArrayValue(msgspec.Struct):
    values: list[AnyValue] = []


class KeyValueList(msgspec.Struct):
    values: list[KeyValue] = []


class AnyValue(msgspec.Struct):
    stringValue: str | None = None
    boolValue: bool | None = None
    intValue: int | str | None = None
    doubleValue: float | str | None = None
    bytesValue: str | None = None
    arrayValue: ArrayValue | None = None
    kvlistValue: KeyValueList | None = None


class KeyValue(msgspec.Struct):
    key: str = ""
    value: AnyValue | None = None


class Resource(msgspec.Struct):
    attributes: list[KeyValue] = []


class Scope(msgspec.Struct):
    name: str = ""
    version: str = ""


class Status(msgspec.Struct):
    code: int | str = 0
    message: str = ""


class Event(msgspec.Struct):
    timeUnixNano: int | str = 0
    name: str = ""
    attributes: list[KeyValue] = []


class Link(msgspec.Struct):
    traceId: str = ""
    spanId: str = ""
    attributes: list[KeyValue] = []


class Span(msgspec.Struct):
    traceId: str = ""
    spanId: str = ""
    parentSpanId: str = ""
    traceState: str = ""
    name: str = ""
    kind: int | str = 0
    startTimeUnixNano: int | str = 0
    endTimeUnixNano: int | str = 0
    attributes: list[KeyValue] = []
    events: list[Event] = []
    links: list[Link] = []
    status: Status | None = None


class ScopeSpans(msgspec.Struct):
    scope: Scope | None = None
    spans: list[Span] = []


class ResourceSpans(msgspec.Struct):
    resource: Resource | None = None
    scopeSpans: list[ScopeSpans] = []
    # OTLP before 0.15 (and Tempo before 2.0) called scope spans this.
    instrumentationLibrarySpans: list[ScopeSpans] = []


class TempoTrace(msgspec.Struct):
    resourceSpans: list[ResourceSpans] = []
    batches: list[ResourceSpans] = []


class TracesDocument(msgspec.Struct):
    """One of OTLP's ``{"resourceSpans"}``, Tempo v1's ``{"batches"}``, v2's ``{"trace"}``."""

    resourceSpans: list[ResourceSpans] | None = None
    batches: list[ResourceSpans] | None = None
    trace: TempoTrace | None = None


document_decoder = msgspec.json.Decoder(TracesDocument)
