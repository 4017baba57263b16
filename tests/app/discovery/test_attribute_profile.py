"""The attribute profile: what a pattern's slow spans share, in bounded memory."""

from __future__ import annotations

import random

from app.discovery.attribute_profile import (
    FULL_PROFILE,
    LATER_EVERY,
    MAX_KEYS,
    MAX_VALUES,
    AttributeProfile,
)
from app.discovery.stats import PatternStats
from connectors.spans import Span, SpanKind

RESOURCE = {"service.name": "checkout", "service.version": "1.0"}


def span(index: int, duration_ms: float, **attributes: object) -> Span:
    return Span(
        trace_id=f"{index:032x}",
        span_id=f"{index:016x}",
        parent_span_id=None,
        name="GET /orders",
        kind=SpanKind.SERVER,
        start_unix_nano=index * 1_000_000,
        end_unix_nano=index * 1_000_000 + int(duration_ms * 1e6),
        attributes=dict(attributes),
        resource=RESOURCE,
    )


def feed(profile: AttributeProfile, spans: list[Span], durations: list[float]) -> None:
    """In batches of 50, as discovery hands a pattern its share of each batch."""
    for start in range(0, len(spans), 50):
        profile.add(spans[start : start + 50], durations[start : start + 50], threshold_ms=100.0)


def test_a_value_the_slow_spans_share_is_found_and_an_even_one_is_not() -> None:
    rng = random.Random(1)
    profile = AttributeProfile()
    spans, durations = [], []
    for index in range(400):
        slow = index % 10 == 0  # 10% slow
        region = "eu" if (slow and rng.random() < 0.9) or rng.random() < 0.1 else "us"
        tier = rng.choice(["free", "pro"])  # says nothing about speed
        spans.append(span(index, 900.0 if slow else 50.0, region=region, tier=tier))
        durations.append(900.0 if slow else 50.0)
    feed(profile, spans, durations)
    skews = profile.over_represented()
    assert [(s.attribute, s.value) for s in skews] == [("region", "eu")]
    assert skews[0].slow_share > 0.75 and skews[0].overall_share < 0.3
    assert skews[0].slow_spans == round(skews[0].slow_share * profile.profiled_slow)


def test_too_few_slow_spans_say_nothing() -> None:
    profile = AttributeProfile()
    spans = [span(i, 900.0 if i < 5 else 50.0, region="eu" if i < 5 else "us") for i in range(100)]
    profile.add(spans, [900.0 if i < 5 else 50.0 for i in range(100)], threshold_ms=100.0)
    assert profile.over_represented() == []


def test_memory_is_bounded_and_ids_are_dropped() -> None:
    profile = AttributeProfile()
    spans = [
        span(i, 10.0, **{"user.id": f"u{i}"}, **{f"attr{k}": k for k in range(MAX_KEYS + 5)})
        for i in range(200)
    ]
    profile.add(spans, [10.0] * 200, threshold_ms=5.0)
    assert "user.id" in profile.dropped and "user.id" not in profile.values
    assert len(profile.values) <= MAX_KEYS
    assert all(len(counts) <= MAX_VALUES for counts in profile.values.values())


def test_a_grown_pattern_is_profiled_one_span_in_eight_without_skipping_any_stride() -> None:
    profile = AttributeProfile()
    first = [span(i, 10.0, a="x") for i in range(FULL_PROFILE)]
    feed(profile, first, [10.0] * len(first))
    assert profile.profiled == FULL_PROFILE  # a young pattern: every span
    for start in range(0, 800, 50):  # batches of 50: the sampling phase carries over
        batch = [span(FULL_PROFILE + start + i, 10.0, a="x") for i in range(50)]
        profile.add(batch, [10.0] * 50, threshold_ms=5.0)
    assert profile.profiled == FULL_PROFILE + 800 // LATER_EVERY
    one_batch = AttributeProfile()
    one_batch.add(first, [10.0] * len(first), threshold_ms=5.0)
    assert one_batch.profiled == 63  # at most 64 of one batch, evenly spread


def test_merging_equals_profiling_together() -> None:
    spans = [span(i, 900.0 if i % 7 == 0 else 20.0, db="a" if i % 3 else "b") for i in range(300)]
    durations = [s.duration_ms for s in spans]
    together, one, two = AttributeProfile(), AttributeProfile(), AttributeProfile()
    feed(together, spans, durations)
    feed(one, spans[:150], durations[:150])
    feed(two, spans[150:], durations[150:])
    one.merge(two)
    assert (one.profiled, one.profiled_slow, one.values) == (
        together.profiled,
        together.profiled_slow,
        together.values,
    )


def test_stats_profile_only_once_the_pattern_has_a_percentile_to_measure_against() -> None:
    stats = PatternStats()
    rng = random.Random(0)
    stats.add_many([span(i, 10.0, a="x") for i in range(10)], rng)
    stats.add_many([span(10 + i, 10.0, a="x") for i in range(10)], rng)
    assert stats.profile.profiled == 0  # 10 spans before either batch: no p90 worth the name
    stats.add_many([span(20 + i, 10.0, a="x") for i in range(40)], rng)
    assert stats.profile.profiled == 40
