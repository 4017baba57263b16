"""Facts about one pattern, computed from what discovery stored: the heart of every answer.

Deterministic and cheap: latency (p50/p95/p99/max and when it was slow), errors (rate, top
status codes and exception types, example traces), throughput, who calls it and what it
calls. For "why is it slow?" the slow periods of the pattern are set against its children's
in the same period: the extra time a child adds per call of the parent (its extra median
times its calls per parent span) says where the time went; a pattern whose children did not
slow down spent the extra time itself. Every fact says where it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from app.discovery.attribute_profile import Skew
from app.discovery.patterns import SpanPattern
from app.facts.trend import SlowPeriod, slow_periods, window_medians
from app.redact import redact_value

TOP = 3
NEIGHBOURS_SHOWN = 8


@dataclass(frozen=True)
class Neighbour:
    name: str
    service: str
    operation: str
    calls: int
    p95_ms: float


@dataclass(frozen=True)
class ChildShare:
    """What one child pattern added to its parent's median during a slow period."""

    name: str
    calls_per_span: float
    p50_during_ms: float
    p50_outside_ms: float

    @property
    def added_ms(self) -> float:
        return self.calls_per_span * (self.p50_during_ms - self.p50_outside_ms)


@dataclass(frozen=True)
class SlowCause:
    period: SlowPeriod
    children: list[ChildShare]
    """Children sorted by the time they added, largest first."""

    @property
    def added_ms(self) -> float:
        return self.period.p50_during_ms - self.period.p50_outside_ms

    @property
    def explained_ms(self) -> float:
        return sum(max(child.added_ms, 0.0) for child in self.children)

    @property
    def self_ms(self) -> float:
        """The extra time not explained by children: spent in the pattern itself."""
        return max(self.added_ms - self.explained_ms, 0.0)


@dataclass(frozen=True)
class PatternFacts:
    name: str
    service: str
    span_kind: str
    operation: str
    description: str | None
    source: str
    count: int
    first_seen_unix_s: float
    last_seen_unix_s: float
    rate_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    error_count: int
    error_rate: float
    status_codes: list[tuple[str, int]]
    exception_types: list[tuple[str, int]]
    error_traces: list[str]
    slow_traces: list[tuple[str, float]]
    callers: list[Neighbour]
    callees: list[Neighbour]
    slow: list[SlowCause] = field(default_factory=list)
    slow_attributes: list[Skew] = field(default_factory=list)
    """Attribute values far more common among its slowest spans (BubbleUp)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "service": self.service,
            "span_kind": self.span_kind,
            "operation": self.operation,
            "description": self.description,
            "source": self.source,
            "count": self.count,
            "first_seen_unix_s": self.first_seen_unix_s,
            "last_seen_unix_s": self.last_seen_unix_s,
            "rate_per_s": round(self.rate_per_s, 4),
            "latency_ms": {
                "p50": round(self.p50_ms, 3),
                "p95": round(self.p95_ms, 3),
                "p99": round(self.p99_ms, 3),
                "max": round(self.max_ms, 3),
            },
            "errors": {
                "count": self.error_count,
                "rate": round(self.error_rate, 6),
                "status_codes": dict(self.status_codes),
                "exception_types": dict(self.exception_types),
                "example_traces": self.error_traces,
            },
            "slowest_traces": [{"trace_id": t, "duration_ms": d} for t, d in self.slow_traces],
            # The busiest neighbours only: a shared dependency can have hundreds of callers,
            # and every answer's prompt has a token budget.
            "callers": [n.__dict__ for n in self.callers[:NEIGHBOURS_SHOWN]],
            "callers_total": len(self.callers),
            "callees": [n.__dict__ for n in self.callees[:NEIGHBOURS_SHOWN]],
            "callees_total": len(self.callees),
            "slow_periods": [
                {
                    "start_unix_s": cause.period.start_s,
                    "end_unix_s": cause.period.end_s,
                    "spans": cause.period.spans,
                    "share": round(cause.period.share, 4),
                    "p50_during_ms": round(cause.period.p50_during_ms, 3),
                    "p50_outside_ms": round(cause.period.p50_outside_ms, 3),
                    "factor": round(cause.period.factor, 2),
                    "self_added_ms": round(cause.self_ms, 3),
                    "children": [
                        {
                            "name": child.name,
                            "calls_per_span": round(child.calls_per_span, 3),
                            "p50_during_ms": round(child.p50_during_ms, 3),
                            "p50_outside_ms": round(child.p50_outside_ms, 3),
                            "added_ms": round(child.added_ms, 3),
                        }
                        for child in cause.children
                    ],
                }
                for cause in self.slow
            ],
            "slow_attributes": [
                {
                    "attribute": skew.attribute,
                    "value": skew.value,
                    "share_of_slow_spans": round(skew.slow_share, 3),
                    "share_of_all_spans": round(skew.overall_share, 3),
                    "slow_spans": skew.slow_spans,
                }
                for skew in self.slow_attributes
            ],
        }


def pattern_facts(
    pattern: SpanPattern, graph: Mapping[int, SpanPattern], description: str | None = None
) -> PatternFacts:
    stats = pattern.stats
    return PatternFacts(
        name=pattern.name,
        service=pattern.service,
        span_kind=pattern.span_kind,
        operation=pattern.operation,
        description=description,
        source=(
            f"stored statistics of {stats.count:,} spans seen by discovery "
            "(durations and counts: all spans; traces: samples)"
        ),
        count=stats.count,
        first_seen_unix_s=stats.first_seen_unix_nano / 1e9,
        last_seen_unix_s=stats.last_seen_unix_nano / 1e9,
        rate_per_s=stats.rate_per_s,
        p50_ms=stats.quantile_ms(0.5),
        p95_ms=stats.quantile_ms(0.95),
        p99_ms=stats.quantile_ms(0.99),
        max_ms=stats.max_duration_ns / 1e6,
        error_count=stats.error_count,
        error_rate=stats.error_rate,
        status_codes=stats.status_codes.most_common(TOP),
        exception_types=stats.exception_types.most_common(TOP),
        error_traces=[span.trace_id for span in reversed(stats.errors)],
        slow_traces=[(span.trace_id, span.duration_ms) for span in stats.slowest_spans()],
        callers=_neighbours(pattern.parents, graph),
        callees=_neighbours(pattern.children, graph),
        slow=[_cause(pattern, period, graph) for period in slow_periods(stats.timeline)],
        slow_attributes=[
            replace(skew, value=str(redact_value(skew.attribute, skew.value)))
            for skew in stats.profile.over_represented()
        ],
    )


def _neighbours(edges: Mapping[int, int], graph: Mapping[int, SpanPattern]) -> list[Neighbour]:
    found = []
    for pattern_id, calls in sorted(edges.items(), key=lambda item: -item[1]):
        other = graph.get(pattern_id)
        if other is not None and other.merged_into is None:
            found.append(
                Neighbour(
                    other.name,
                    other.service,
                    other.operation,
                    calls,
                    round(other.stats.quantile_ms(0.95), 3),
                )
            )
    return found


def _cause(pattern: SpanPattern, period: SlowPeriod, graph: Mapping[int, SpanPattern]) -> SlowCause:
    children = []
    for child_id, calls in pattern.children.items():
        child = graph.get(child_id)
        if child is None or pattern.stats.count == 0:
            continue
        width = max(child.stats.timeline.width_s, pattern.stats.timeline.width_s)
        timeline = child.stats.timeline.at_width(width)
        during, outside, spans = window_medians(timeline, period.start_s, period.end_s)
        if spans == 0:
            continue
        children.append(ChildShare(child.name, calls / pattern.stats.count, during, outside))
    children.sort(key=lambda child: -child.added_ms)
    return SlowCause(period, children)
