"""Patterns as JSON-ready documents: what ``patterns show --json`` and the API return."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.discovery.patterns import SpanPattern
from app.discovery.traceql import traceql_for
from app.redact import redact_attributes, redact_text
from connectors.spans import Span


def pattern_document(pattern: SpanPattern, patterns: Sequence[SpanPattern]) -> dict[str, Any]:
    """Everything known of one pattern; ``patterns`` resolves graph edges to names."""

    def linked(edges: dict[int, int]) -> list[dict[str, Any]]:
        return [
            {
                "name": patterns[pid].name,
                "service": patterns[pid].service,
                "calls": count,
            }
            for pid, count in sorted(edges.items(), key=lambda item: -item[1])
        ]

    stats = pattern.stats
    return {
        "name": pattern.name,
        "service": pattern.service,
        "span_kind": pattern.span_kind,
        "family": pattern.family.value,
        "operation": pattern.operation,
        **pattern_selection(pattern),
        "hints": pattern.hints,
        "stats": stats.summary(),
        "parents": linked(pattern.parents),
        "children": linked(pattern.children),
        "callers": sorted({patterns[pid].service for pid in pattern.parents}),
        "samples": {
            "typical": [sample_document(s) for s in stats.typical],
            "slowest": [sample_document(s) for s in stats.slowest_spans()],
            "errors": [sample_document(s) for s in stats.errors],
        },
    }


def pattern_selection(pattern: SpanPattern) -> dict[str, Any]:
    """What selects the pattern's spans: its matchers, the more specific siblings' matchers
    it leaves out (a span that meets all of one of them is not the pattern's), and the
    TraceQL query that says both."""
    try:
        query: str | None = traceql_for(pattern)
    except ValueError:  # a span kind TraceQL has no keyword for
        query = None
    return {
        "matchers": [m.as_dict() for m in pattern.matchers],
        "exclusions": [[m.as_dict() for m in excluded] for excluded in pattern.exclusions],
        "traceql": query,
    }


def pattern_row(pattern: SpanPattern) -> dict[str, Any]:
    """The short form, for lists."""
    stats = pattern.stats
    return {
        "name": pattern.name,
        "service": pattern.service,
        "span_kind": pattern.span_kind,
        "operation": pattern.operation,
        "count": stats.count,
        "p50_ms": round(stats.quantile_ms(0.5), 3),
        "p99_ms": round(stats.quantile_ms(0.99), 3),
        "error_rate": round(stats.error_rate, 6),
    }


def sample_document(span: Span) -> dict[str, Any]:
    """A sample span with its secrets and personal data redacted (``app.redact``)."""
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": redact_text(span.name),
        "start_unix_nano": span.start_unix_nano,
        "duration_ms": round(span.duration_ms, 3),
        "status": span.status_code.label,
        "status_message": redact_text(span.status_message),
        "attributes": redact_attributes(span.attributes),
        "events": [
            {"name": e.name, "attributes": redact_attributes(e.attributes)} for e in span.events
        ],
    }
