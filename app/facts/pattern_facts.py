"""Facts about one pattern, computed from what discovery stored: the heart of every answer.

Deterministic and cheap: latency (p50/p95/p99/max and when it was slow), errors (rate, top
status codes and exception types, when they came, example traces), throughput, who calls it
and what it calls, and the classifier's verdict (keep or noise) with its reason. For "why is
it slow?" the slow periods of the pattern are set against its children's in the same
period: the extra time a child adds per call of the parent (its extra median times its calls
per parent span) says where the time went; a pattern whose children did not slow down spent
the extra time itself. When one child accounts for most of it, the same question is asked
of that child, and so on down the call chain (``SlowCause.chain``), to the pattern that
spent the time itself. Errors are followed down the same way (``error_chain``): to the
child whose failures account for most of a pattern's own. Every fact says where it came
from.

``graph`` is read lazily: only the neighbours and the patterns down a chain are looked up,
so a mapping that decodes patterns when asked for them (``app.chat.service``) keeps an
answer cheap however large the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from app.discovery.attribute_profile import Skew
from app.discovery.patterns import SpanPattern
from app.facts.consumer_lag import ConsumerLag, consumer_lag
from app.facts.repeated_calls import RepeatedCall, repeated_calls
from app.facts.tail import LatencyTail, latency_tail
from app.facts.time_split import ChildTimeShare, TimeSplit, time_split
from app.facts.trend import (
    ErrorPeriod,
    SlowPeriod,
    error_periods,
    slow_periods,
    window_medians,
)
from app.facts.window_facts import WindowFacts
from app.redact import redact_value

TOP = 3
NEIGHBOURS_SHOWN = 8
CHAIN_DEPTH = 10
"""Hops followed down a call chain, for the extra time or for errors."""
CHAIN_SHARE = 0.5
"""A child is followed when it accounts for at least this share of its parent's extra time
(or errors)."""


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
    pattern_id: int = -1
    service: str = ""

    @property
    def added_ms(self) -> float:
        return self.calls_per_span * (self.p50_during_ms - self.p50_outside_ms)

    @property
    def own_added_ms(self) -> float:
        """The extra median of one of its own spans."""
        return self.p50_during_ms - self.p50_outside_ms


@dataclass(frozen=True)
class SlowCause:
    period: SlowPeriod
    children: list[ChildShare]
    """Children sorted by the time they added, largest first."""
    chain: list[ChildShare] = field(default_factory=list)
    """Down the call chain, each hop the child of the one before that accounts for most of
    its extra time: the first is a child of the pattern, the last spent the time itself."""
    traced: list[ChildTimeShare] = field(default_factory=list)
    """Past the chain's last hop, where whole traces show its slow calls spend their time:
    medians miss a slow tail of a child (a lock waited on now and then), traces do not."""

    @property
    def ends_at(self) -> int | None:
        """The pattern the extra time traces to, down the chain and the traces."""
        if self.traced:
            return self.traced[-1].pattern_id
        return self.chain[-1].pattern_id if self.chain else None

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
class ErrorHop:
    """A pattern down the call chain whose errors account for most of its caller's."""

    name: str
    service: str
    error_count: int
    error_rate: float
    status_codes: list[tuple[str, int]]
    exception_types: list[tuple[str, int]]
    pattern_id: int = -1


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
    error_periods: list[ErrorPeriod] = field(default_factory=list)
    error_chain: list[ErrorHop] = field(default_factory=list)
    """Down the call chain, where its errors come from (empty: from itself)."""
    repeated_calls: list[RepeatedCall] = field(default_factory=list)
    lag: ConsumerLag | None = None
    verdict: str | None = None
    """The classifier's verdict, ``keep`` or ``noise``; None when not classified."""
    verdict_reason: str | None = None
    tail: LatencyTail | None = None
    """Calls far slower than its median, all the time or in periods."""
    time_split: TimeSplit | None = None
    """For a parent: where its time goes, slow calls against typical ones."""
    window: WindowFacts | None = None
    """Its numbers in the window a question asked about, against the window before."""

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "name": self.name,
            "service": self.service,
            "span_kind": self.span_kind,
            "operation": self.operation,
            "description": self.description,
            "source": self.source,
            "verdict": self.verdict,
            "verdict_reason": self.verdict_reason,
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
                "periods": [
                    {
                        "start_unix_s": period.start_s,
                        "end_unix_s": period.end_s,
                        "spans": period.spans,
                        "errors": period.errors,
                        "rate": round(period.rate, 4),
                        "rate_outside": round(period.rate_outside, 4),
                    }
                    for period in self.error_periods
                ],
                "from_children": [
                    {
                        "name": hop.name,
                        "service": hop.service,
                        "errors": hop.error_count,
                        "rate": round(hop.error_rate, 4),
                        "status_codes": dict(hop.status_codes),
                        "exception_types": dict(hop.exception_types),
                    }
                    for hop in self.error_chain
                ],
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
                    **({"since_change": True} if cause.period.since_change else {}),
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
                    "chain": [
                        {
                            "name": hop.name,
                            "p50_during_ms": round(hop.p50_during_ms, 3),
                            "p50_outside_ms": round(hop.p50_outside_ms, 3),
                        }
                        for hop in cause.chain
                    ],
                    **(
                        {"then_in_traces": [hop.name for hop in cause.traced]}
                        if cause.traced
                        else {}
                    ),
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
        if self.window is not None:
            found["window"] = self.window.as_dict()
        # Only when there is something to say: every answer's prompt has a token budget.
        if self.tail is not None:
            found["latency_tail"] = self.tail.as_dict()
        if self.time_split is not None:
            found["time_split"] = self.time_split.as_dict()
        if self.repeated_calls:
            found["repeated_calls"] = [
                {
                    "name": call.name,
                    "since_unix_s": call.since_s,
                    "calls_per_span_before": round(call.calls_per_span_before, 3),
                    "calls_per_span_after": round(call.calls_per_span_after, 3),
                    "calls_per_calling_span_before": round(call.calls_per_caller_before, 3),
                    "calls_per_calling_span_after": round(call.calls_per_caller_after, 3),
                    "child_p50_ms": round(call.child_p50_ms, 3),
                    "added_ms": round(call.added_ms, 3),
                }
                for call in self.repeated_calls
            ]
        if self.lag is not None:
            found["consumer_lag"] = {
                "messages": self.lag.messages,
                "p50_ms": round(self.lag.p50_ms, 1),
                "p95_ms": round(self.lag.p95_ms, 1),
                "max_ms": round(self.lag.max_ms, 1),
                "peak_at_unix_s": self.lag.peak_at_s,
                "behind": [
                    {
                        "start_unix_s": period.start_s,
                        "end_unix_s": period.end_s,
                        "p50_during_ms": round(period.p50_during_ms, 1),
                        "p50_outside_ms": round(period.p50_outside_ms, 1),
                    }
                    for period in self.lag.behind
                ],
            }
        return found


def pattern_facts(
    pattern: SpanPattern,
    graph: Mapping[int, SpanPattern],
    description: str | None = None,
    *,
    verdict: str | None = None,
    verdict_reason: str | None = None,
) -> PatternFacts:
    stats = pattern.stats
    max_ms = stats.max_duration_ns / 1e6

    def quantile(q: float) -> float:
        # The sketch's relative error can put a high quantile just above the largest span.
        value = stats.quantile_ms(q)
        return min(value, max_ms) if max_ms > 0 else value

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
        p50_ms=quantile(0.5),
        p95_ms=quantile(0.95),
        p99_ms=quantile(0.99),
        max_ms=max_ms,
        error_count=stats.error_count,
        error_rate=stats.error_rate,
        status_codes=stats.status_codes.most_common(TOP),
        exception_types=stats.exception_types.most_common(TOP),
        error_traces=[span.trace_id for span in reversed(stats.errors)],
        slow_traces=[(span.trace_id, span.duration_ms) for span in stats.slowest_spans()],
        callers=_neighbours(pattern.parents, graph),
        callees=_neighbours(pattern.children, graph),
        slow=[
            _cause(pattern, _clamped(period, stats.last_seen_unix_nano), graph)
            for period in slow_periods(stats.timeline)
        ],
        slow_attributes=[
            replace(skew, value=str(redact_value(skew.attribute, skew.value)))
            for skew in stats.profile.over_represented()
        ],
        error_periods=error_periods(stats.timeline),
        error_chain=_error_chain(pattern, graph),
        repeated_calls=repeated_calls(pattern, graph),
        lag=consumer_lag(stats),
        verdict=verdict,
        verdict_reason=verdict_reason,
        tail=latency_tail(stats),
        time_split=time_split(pattern, graph),
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
    children = _shares(pattern, period, graph)
    chain: list[ChildShare] = []
    extra_ms = period.p50_during_ms - period.p50_outside_ms
    seen = {pattern.id}
    shares = children
    while shares and len(chain) < CHAIN_DEPTH:
        top = shares[0]
        if extra_ms <= 0 or top.added_ms < CHAIN_SHARE * extra_ms or top.pattern_id in seen:
            break
        chain.append(top)
        seen.add(top.pattern_id)
        child = graph.get(top.pattern_id)
        if child is None:
            break
        extra_ms = top.own_added_ms
        shares = _shares(child, period, graph)
    traced: list[ChildTimeShare] = []
    last = graph.get(chain[-1].pattern_id) if chain else None
    if last is not None:
        split = time_split(last, graph)
        if split is not None and split.banded:
            traced = [hop for hop in split.chain if hop.pattern_id not in seen]
    return SlowCause(period, children, chain, traced)


def _shares(
    pattern: SpanPattern, period: SlowPeriod, graph: Mapping[int, SpanPattern]
) -> list[ChildShare]:
    """What each child added per span of ``pattern`` in the period, largest first."""
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
        children.append(
            ChildShare(
                child.name, calls / pattern.stats.count, during, outside, child.id, child.service
            )
        )
    children.sort(key=lambda child: -child.added_ms)
    return children


def _error_chain(pattern: SpanPattern, graph: Mapping[int, SpanPattern]) -> list[ErrorHop]:
    """Down the call chain, the children whose errors account for most of their caller's.

    A child's errors are counted for the caller in the share of the child's spans that the
    caller made (a shared dependency fails for all its callers); the child is followed when
    these are at least ``CHAIN_SHARE`` of the caller's errors.
    """
    chain: list[ErrorHop] = []
    seen = {pattern.id}
    current = pattern
    while current.stats.error_count and len(chain) < CHAIN_DEPTH:
        best: tuple[float, SpanPattern] | None = None
        for child_id, calls in current.children.items():
            child = graph.get(child_id)
            if child is None or child.id in seen or not child.stats.error_count:
                continue
            made_here = min(1.0, calls / child.stats.count) if child.stats.count else 0.0
            attributed = child.stats.error_count * made_here
            if best is None or attributed > best[0]:
                best = (attributed, child)
        if best is None or best[0] < CHAIN_SHARE * current.stats.error_count:
            break
        child = best[1]
        seen.add(child.id)
        chain.append(
            ErrorHop(
                child.name,
                child.service,
                child.stats.error_count,
                child.stats.error_rate,
                child.stats.status_codes.most_common(TOP),
                child.stats.exception_types.most_common(TOP),
                child.id,
            )
        )
        current = child
    return chain


def _clamped(period: SlowPeriod, last_seen_unix_nano: int) -> SlowPeriod:
    """A level shift ends with the last span seen, not with the end of its bucket."""
    last_s = int(last_seen_unix_nano // 1_000_000_000)
    if period.since_change and period.start_s < last_s < period.end_s:
        return replace(period, end_s=last_s)
    return period
