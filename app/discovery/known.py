"""Known patterns recognised by their matchers, so their spans skip normalization.

Most spans of a running system belong to patterns already known. For a pattern whose
matchers are all ``exact`` (an HTTP route, an RPC method, a messaging destination), the
values a span has for those fields are enough to find it: one dict lookup per distinct set
of matcher fields in the span's service and kind, instead of normalizing the span.

The matcher contract (``app.discovery.operation``) makes this sound: no span of the same
service and kind with a different operation satisfies all of a pattern's matchers. Only
patterns with at least one attribute matcher take part, so that a pattern recognised by
its span name alone never captures a span that normalization would read by its attributes.
"""

from __future__ import annotations

from app.discovery.operation import FieldType, Matcher, MatchType
from app.discovery.patterns import SpanPattern
from connectors.spans import Span

Scope = tuple[str, str]
"""(service, span kind label)."""
_Fields = tuple[tuple[FieldType, str], ...]


class ExactMatcherIndex:
    """Pattern ids by (service, kind), matcher fields, and the exact values they require."""

    def __init__(self) -> None:
        self._by_scope: dict[Scope, list[tuple[tuple[Matcher, ...], dict[tuple[str, ...], int]]]]
        self._by_scope = {}

    def add(self, pattern: SpanPattern) -> bool:
        """Index the pattern if its matchers allow it; says whether they did."""
        matchers = pattern.matchers
        if not matchers or any(m.match_type is not MatchType.EXACT for m in matchers):
            return False
        if not any(m.field_type is FieldType.SPAN_ATTRIBUTE for m in matchers):
            return False
        signatures = self._by_scope.setdefault((pattern.service, pattern.span_kind), [])
        fields = _fields(matchers)
        for readers, table in signatures:
            if _fields(readers) == fields:
                table.setdefault(tuple(m.match_value for m in matchers), pattern.id)
                return True
        signatures.append((matchers, {tuple(m.match_value for m in matchers): pattern.id}))
        return True

    def find(self, span: Span, service: str, kind: str) -> int | None:
        """The id of the indexed pattern whose matchers the span satisfies, if any."""
        signatures = self._by_scope.get((service, kind))
        if signatures is None:
            return None
        attributes = span.attributes
        for readers, table in signatures:
            values = []
            for matcher in readers:
                if matcher.field_type is FieldType.SPAN_ATTRIBUTE:
                    raw = attributes.get(matcher.field_name)
                    if raw is None:
                        break
                    value = raw if type(raw) is str else matcher.value_of(span)
                else:
                    value = matcher.value_of(span)
                if value is None:
                    break
                values.append(value)
            else:
                found = table.get(tuple(values))
                if found is not None:
                    return found
        return None


def _fields(matchers: tuple[Matcher, ...]) -> _Fields:
    return tuple((m.field_type, m.field_name) for m in matchers)
