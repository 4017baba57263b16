"""Patterns for the classifier tests, made the way discovery makes them: from spans, through
the real normalizer and clusterer, so that their hints are what production patterns carry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import pytest

from app.discovery.cluster import PatternClusterer
from app.discovery.normalize import normalize
from app.discovery.operation import Family
from app.discovery.patterns import SpanPattern
from connectors.spans import Span, SpanEvent, SpanKind, StatusCode

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
START_NS = 1_700_000_000_000_000_000


class SpanMaker(Protocol):
    def __call__(
        self,
        name: str,
        *,
        kind: SpanKind = ...,
        service: str = ...,
        attributes: dict[str, Any] | None = ...,
        span_id: int = ...,
        parent: int | None = ...,
        start_ms: float = ...,
        duration_ms: float = ...,
        error: bool = ...,
        exception: str | None = ...,
    ) -> Span: ...


@pytest.fixture
def make_span() -> SpanMaker:
    def make(
        name: str,
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        service: str = "checkout",
        attributes: dict[str, Any] | None = None,
        span_id: int = 1,
        parent: int | None = None,
        start_ms: float = 0.0,
        duration_ms: float = 1.0,
        error: bool = False,
        exception: str | None = None,
    ) -> Span:
        start = START_NS + int(start_ms * 1e6)
        events = []
        if exception is not None:
            events.append(SpanEvent("exception", start, {"exception.type": exception}))
        return Span(
            trace_id=TRACE,
            span_id=f"{span_id:016x}",
            parent_span_id=f"{parent:016x}" if parent is not None else None,
            name=name,
            kind=kind,
            start_unix_nano=start,
            end_unix_nano=start + int(duration_ms * 1e6),
            attributes=attributes or {},
            resource={"service.name": service},
            status_code=StatusCode.ERROR if error else StatusCode.UNSET,
            events=events,
        )

    return make


@pytest.fixture
def cluster() -> Callable[[Sequence[Span]], list[SpanPattern]]:
    """Spans -> patterns (ids in order of first appearance), with the pattern graph."""

    def run(spans: Sequence[Span]) -> list[SpanPattern]:
        clusterer = PatternClusterer(normalize)
        clusterer.accept(spans)
        return clusterer.patterns

    return run


PatternOf = Callable[..., SpanPattern]


@pytest.fixture
def pattern_of(
    make_span: SpanMaker, cluster: Callable[[Sequence[Span]], list[SpanPattern]]
) -> PatternOf:
    """``pattern_of(name, kind=..., attributes=..., service=...)``: the one pattern of a span."""

    def make(name: str, **options: Any) -> SpanPattern:
        patterns = cluster([make_span(name, **options)])
        assert len(patterns) == 1
        return patterns[0]

    return make


@pytest.fixture
def bare_pattern() -> Callable[..., SpanPattern]:
    """A pattern as a store might hold it, with whatever hints (even none) a test gives."""

    def make(
        operation: str,
        *,
        family: Family = Family.GENERIC,
        kind: str = "internal",
        service: str = "checkout",
        hints: dict[str, str] | None = None,
        pattern_id: int = 0,
    ) -> SpanPattern:
        return SpanPattern(
            id=pattern_id,
            service=service,
            span_kind=kind,
            family=family,
            operation=operation,
            matchers=(),
            hints=hints or {},
            name=f"provisional_{pattern_id}",
        )

    return make
