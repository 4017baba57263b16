"""The one span type every stage of Spanwise shares.

Spans are held by the million, so they are msgspec structs: slotted, cheap to build and
untracked by the garbage collector (``gc=False``; a span never takes part in a reference
cycle). Attribute dictionaries are plain dicts of OTLP values. Every span of one OTLP
resource shares the same ``resource`` dict; treat it as read-only.

Ids are lower-case hex, zero-padded: 32 characters for a trace id, 16 for a span id.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import msgspec

AttributeValue = Any
"""str, bool, int, float, bytes, a list of these, or a dict of these (an OTLP kvlist)."""

Attributes = dict[str, AttributeValue]


class SpanKind(IntEnum):
    """OTLP span kinds, with the numbers the protocol uses."""

    UNSPECIFIED = 0
    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5

    @property
    def label(self) -> str:
        """The lower-case name TraceQL and people use: ``server``, ``client``, ..."""
        return self.name.lower()


class StatusCode(IntEnum):
    """OTLP span status codes."""

    UNSET = 0
    OK = 1
    ERROR = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class SpanEvent(msgspec.Struct, gc=False):
    """Something that happened during a span, such as an ``exception``."""

    name: str
    time_unix_nano: int
    attributes: Attributes = msgspec.field(default_factory=dict)


class SpanLink(msgspec.Struct, gc=False):
    """A pointer to a span of another (or the same) trace, as Kafka consumers carry."""

    trace_id: str
    span_id: str
    attributes: Attributes = msgspec.field(default_factory=dict)


class Span(msgspec.Struct, gc=False):
    """One span, as decoded from OTLP JSON, OTLP protobuf or Tempo."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: SpanKind
    start_unix_nano: int
    end_unix_nano: int
    attributes: Attributes = msgspec.field(default_factory=dict)
    resource: Attributes = msgspec.field(default_factory=dict)
    status_code: StatusCode = StatusCode.UNSET
    status_message: str = ""
    scope_name: str = ""
    scope_version: str = ""
    events: list[SpanEvent] = msgspec.field(default_factory=list)
    links: list[SpanLink] = msgspec.field(default_factory=list)
    trace_state: str = ""

    @property
    def duration_ns(self) -> int:
        return self.end_unix_nano - self.start_unix_nano

    @property
    def duration_ms(self) -> float:
        return (self.end_unix_nano - self.start_unix_nano) / 1_000_000

    @property
    def service_name(self) -> str:
        """``service.name`` of the resource; the SDK's own default when it is missing."""
        value = self.resource.get("service.name")
        return value if isinstance(value, str) and value else "unknown_service"

    @property
    def is_root(self) -> bool:
        return self.parent_span_id is None

    @property
    def is_error(self) -> bool:
        return self.status_code is StatusCode.ERROR
