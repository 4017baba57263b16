"""Why slow, when no period stands out: the slow tail of a pattern (steady or in periods),
and, for a parent, where its time goes in slow calls against typical ones."""

from __future__ import annotations

import random

import pytest

from app.discovery.cluster import PatternClusterer
from app.discovery.operation import Family, FieldType, Matcher, MatchType, Operation
from app.discovery.patterns import SpanPattern
from app.discovery.stats import PatternStats
from app.facts.pattern_facts import pattern_facts
from app.facts.render import answer_text
from app.facts.tail import latency_tail
from connectors.spans import Span, SpanKind, StatusCode

START_S = 1_790_000_040  # on a minute
MINUTES = 30


def stats_of(durations_by_minute: list[list[float]]) -> PatternStats:
    stats = PatternStats()
    rng = random.Random(1)
    spans = []
    for minute, durations in enumerate(durations_by_minute):
        for i, duration_ms in enumerate(durations):
            start = (START_S + minute * 60 + i % 60) * 10**9
            spans.append(
                Span(
                    trace_id=f"{minute:016x}{i:016x}",
                    span_id=f"{minute:08x}{i:08x}",
                    parent_span_id=None,
                    name="SELECT",
                    kind=SpanKind.CLIENT,
                    start_unix_nano=start,
                    end_unix_nano=start + int(duration_ms * 1e6),
                    attributes={},
                    resource={"service.name": "inventory"},
                    status_code=StatusCode.UNSET,
                )
            )
    stats.add_many(spans, rng)
    return stats


def lock_waits(minute_has_waits: list[bool], seed: int = 3) -> list[list[float]]:
    """60 queries a minute around 2 ms; in the minutes given, 3 of them wait 0.7-2.8 s."""
    rng = random.Random(seed)
    minutes = []
    for waits in minute_has_waits:
        durations = [rng.uniform(1.5, 3.0) for _ in range(60)]
        if waits:
            durations[:3] = [rng.uniform(700, 2800) for _ in range(3)]
        minutes.append(durations)
    return minutes


def test_a_steady_slow_mode_is_described_with_its_share_range_and_steadiness() -> None:
    tail = latency_tail(stats_of(lock_waits([True] * MINUTES)))
    assert tail is not None
    assert tail.spans == 3 * MINUTES
    assert tail.share == pytest.approx(0.05, abs=0.001)
    assert 700 <= tail.low_ms < 1000 and 2400 < tail.high_ms <= 2800
    assert tail.rest_p99_ms < 3.1
    assert tail.separate and tail.steady and not tail.periods
    assert tail.buckets_with_tail == tail.buckets_expected == MINUTES


def test_a_tail_that_comes_in_one_burst_is_reported_as_a_period() -> None:
    burst = [10 <= minute < 14 for minute in range(MINUTES)]
    minutes = lock_waits(burst)
    for minute in range(10, 14):  # the burst: a third of the calls wait
        minutes[minute][:20] = [1500.0] * 20
    tail = latency_tail(stats_of(minutes))
    assert tail is not None and not tail.steady
    assert [(p.start_s, p.end_s) for p in tail.periods] == [(START_S + 600, START_S + 14 * 60)]
    assert tail.periods[0].spans == tail.spans


def test_a_narrow_distribution_has_no_tail() -> None:
    rng = random.Random(2)
    minutes = [[rng.uniform(10, 30) for _ in range(60)] for _ in range(MINUTES)]
    assert latency_tail(stats_of(minutes)) is None


def test_a_long_spread_is_a_tail_not_a_mode_of_its_own() -> None:
    rng = random.Random(4)
    minutes = [[rng.lognormvariate(0, 1.2) for _ in range(60)] for _ in range(MINUTES)]
    tail = latency_tail(stats_of(minutes))
    assert tail is not None and not tail.separate
    assert 0.05 < tail.share < 0.2  # P(X > 4x the median) of this lognormal is about 12%


def by_name(span: Span) -> Operation:
    matcher = Matcher(FieldType.SPAN_FIELD, "name", MatchType.EXACT, span.name)
    return Operation(Family.GENERIC, span.name, (matcher,), {"operation": span.name})


def chain_traces(traces: int) -> list[Span]:
    """checkout -> order -> reserve (a row lock); in one call out of ten the lock waits."""
    rng = random.Random(9)
    spans = []
    for trace in range(traces):
        wait_ms = rng.uniform(700, 2800) if trace % 10 == 0 else rng.uniform(1, 3)
        start = (START_S + trace) * 10**9

        def make(
            n: int,
            name: str,
            begin_ms: float,
            end_ms: float,
            parent: int | None,
            trace: int = trace,
            start: int = start,
        ) -> Span:
            return Span(
                trace_id=f"{trace:032x}",
                span_id=f"{trace:08x}{n:08x}",
                parent_span_id=f"{trace:08x}{parent:08x}" if parent else None,
                name=name,
                kind=SpanKind.INTERNAL,
                start_unix_nano=start + int(begin_ms * 1e6),
                end_unix_nano=start + int(end_ms * 1e6),
                attributes={},
                resource={"service.name": "shop"},
                status_code=StatusCode.UNSET,
            )

        spans += [
            make(1, "checkout", 0, 810 + wait_ms, None),
            make(2, "auth", 1, 4, 1),
            make(3, "order", 5, 805 + wait_ms, 1),
            make(4, "render", 6, 800, 3),  # in parallel with the reservation
            make(5, "reserve", 6, 7 + wait_ms, 3),
            make(6, "lock", 6.5, 6.6 + wait_ms, 5),
        ]
    return spans


def test_a_parents_time_is_followed_down_to_where_its_slow_calls_wait() -> None:
    clusterer = PatternClusterer(by_name)
    clusterer.accept(chain_traces(400))
    clusterer.finish()
    graph = {p.id: p for p in clusterer.patterns}
    named: dict[str, SpanPattern] = {p.name.split("_")[-1]: p for p in clusterer.patterns}
    facts = pattern_facts(named["checkout"], graph)
    split = facts.time_split
    assert split is not None and split.banded
    assert split.children[0].name == named["order"].name
    assert split.children[0].slow_ms > 1000 > 900 > split.children[0].typical_ms
    # render runs beside reserve: in typical calls it is waited on, in slow calls not
    order = pattern_facts(named["order"], graph).time_split
    assert order is not None
    by_child = {c.name: c for c in order.children}
    assert by_child[named["render"].name].typical_ms > 700
    assert by_child[named["reserve"].name].slow_ms > 1000
    assert [hop.name for hop in split.chain] == [
        named["order"].name,
        named["reserve"].name,
        named["lock"].name,
    ]
    text = answer_text("why is this slow?", facts)
    assert f"Look next at @{named['lock'].name}" in text
    assert "its slowest 10%" in text


def test_a_steady_tail_is_what_why_slow_says_when_no_period_stands_out() -> None:
    pattern = SpanPattern(
        id=0,
        service="inventory",
        span_kind="client",
        family=Family.DATABASE,
        operation="SELECT ... FOR UPDATE",
        matchers=(),
        hints={},
        name="postgres_query_select_for_update_inventory",
    )
    pattern.stats = stats_of(lock_waits([True] * MINUTES))
    text = answer_text("why is this slow?", pattern_facts(pattern, {0: pattern}))
    assert "No period stands out" not in text
    assert "5.0% of its calls (90) take over" in text
    assert "a slow mode of their own" in text
    assert f"Steady, not a period: slow calls came in {MINUTES} of the {MINUTES} minutes" in text
