"""What normalization makes of a span: its operation, and matchers that recognise it.

A span's **operation** is what a person would call the work it does, stripped of ids and
literals: ``POST api.stripe.com /v1/charges``, ``postgresql SELECT orders WHERE id = ?``.
A span pattern is the spans of one service and span kind that share an operation key.

The **matchers** of an operation are the contract that makes patterns usable outside
Spanwise (a TraceQL query, a person reading them): every span whose operation has this
key satisfies every matcher, and no span of the same service and kind whose operation has
a different key satisfies them all. Normalizers guarantee this by deriving both the key and
the matchers from the same rules: a placeholder such as ``{int}`` in a key becomes, in a
regex matcher, exactly the expression that decided the value was an ``{int}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from connectors.spans import Span


class Family(StrEnum):
    """The semantic-convention family a span's operation was read from."""

    HTTP_SERVER = "http_server"
    HTTP_CLIENT = "http_client"
    DATABASE = "database"
    CACHE = "cache"
    MESSAGING = "messaging"
    RPC = "rpc"
    GENERIC = "generic"


class FieldType(StrEnum):
    SPAN_ATTRIBUTE = "span_attribute"
    RESOURCE_ATTRIBUTE = "resource_attribute"
    SPAN_FIELD = "span_field"
    """``name``, ``kind`` (lower-case: ``server``, ``client``...) or ``status``."""


class MatchType(StrEnum):
    EXACT = "exact"
    STARTS_WITH = "starts_with"
    REGEX = "regex"
    """An RE2 expression (Tempo's, Go's) that must match the whole value; Python reads it
    with ``re.fullmatch``, ``re.DOTALL`` and ``re.ASCII``, so that ``\\s``, ``\\S`` and ``\\w``
    mean what they mean to RE2 (ASCII), whatever the value holds."""


@dataclass(frozen=True, slots=True)
class Matcher:
    field_type: FieldType
    field_name: str
    match_type: MatchType
    match_value: str

    def value_of(self, span: Span) -> str | None:
        """The span's value of this matcher's field, as text; None when it has none."""
        if self.field_type is FieldType.SPAN_ATTRIBUTE:
            raw = span.attributes.get(self.field_name)
        elif self.field_type is FieldType.RESOURCE_ATTRIBUTE:
            raw = span.resource.get(self.field_name)
        elif self.field_name == "name":
            raw = span.name
        elif self.field_name == "kind":
            raw = span.kind.label
        elif self.field_name == "status":
            raw = span.status_code.label
        else:
            raise ValueError(f"unknown span field {self.field_name!r}")
        if raw is None:
            return None
        if isinstance(raw, bool):
            return "true" if raw else "false"
        if isinstance(raw, list) and len(raw) == 1:  # captured headers are one-item lists
            raw = raw[0]
        return str(raw)

    def matches(self, span: Span) -> bool:
        value = self.value_of(span)
        if value is None:
            return False
        if self.match_type is MatchType.EXACT:
            return value == self.match_value
        if self.match_type is MatchType.STARTS_WITH:
            return value.startswith(self.match_value)
        return _compiled(self.match_value).fullmatch(value) is not None

    def as_dict(self) -> dict[str, str]:
        return {
            "field_type": self.field_type.value,
            "field_name": self.field_name,
            "match_type": self.match_type.value,
            "match_value": self.match_value,
        }


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(expression: str) -> re.Pattern[str]:
    pattern = _PATTERNS.get(expression)
    if pattern is None:
        pattern = _PATTERNS[expression] = re.compile(expression, re.DOTALL | re.ASCII)
    return pattern


@dataclass(frozen=True, slots=True)
class Operation:
    """A span's normalized operation within its service and kind."""

    family: Family
    key: str
    """Equal keys, same operation; e.g. ``GET /products/{sku}``. Shown to people as is."""
    matchers: tuple[Matcher, ...]
    """Recognise this operation among the spans of the same service and kind (see module)."""
    hints: Mapping[str, str] = field(default_factory=dict)
    """Words for naming and describing it: ``system``, ``operation``, ``target`` (table,
    topic, route, key prefix), ``peer`` (host or service called), ``method``..."""

    matcher_fields: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The field names its matchers read: part of a pattern's key (``PatternKey``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "matcher_fields", tuple(m.field_name for m in self.matchers))


Normalizer = Callable[[Span], Operation]
"""A span's operation: ``app.discovery.normalize.normalize``, perhaps with overrides."""
