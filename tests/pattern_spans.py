"""The truth of a pattern's numbers in a window: the spans it matches that started then."""

from __future__ import annotations

from app.discovery.patterns import SpanPattern
from connectors.spans import Span


def spans_of(pattern: SpanPattern, spans: list[Span], start_s: int, end_s: int) -> list[Span]:
    """The spans of ``spans`` that ``pattern`` matches and that started in ``[start_s,
    end_s)`` (unix seconds)."""
    return [
        span
        for span in spans
        if span.service_name == pattern.service
        and span.kind.label == pattern.span_kind
        and pattern.matches(span)
        and start_s <= span.start_unix_nano // 10**9 < end_s
    ]
