"""What the facts of one pattern hold, and that they stay small whatever its neighbourhood;
how they read when written out."""

from __future__ import annotations

from collections import Counter

import pytest

from app.discovery.operation import Family
from app.discovery.patterns import SpanPattern
from app.discovery.sketches import add_durations_ms
from app.facts.pattern_facts import NEIGHBOURS_SHOWN, pattern_facts
from app.facts.render import answer_text


def pattern(pattern_id: int, name: str) -> SpanPattern:
    return SpanPattern(
        id=pattern_id,
        service=f"svc{pattern_id}",
        span_kind="client",
        family=Family.GENERIC,
        operation=name,
        matchers=(),
        hints={},
        name=name,
    )


def test_a_dependency_with_many_callers_lists_the_busiest_and_counts_the_rest() -> None:
    shared = pattern(0, "redis_cache_get_session")
    callers = [pattern(i, f"caller_{i}") for i in range(1, 31)]
    shared.parents = Counter({c.id: c.id * 10 for c in callers})
    graph = {p.id: p for p in [shared, *callers]}
    document = pattern_facts(shared, graph).as_dict()
    listed = document["callers"]
    assert isinstance(listed, list) and len(listed) == NEIGHBOURS_SHOWN
    assert [c["name"] for c in listed] == [
        f"caller_{i}" for i in range(30, 30 - NEIGHBOURS_SHOWN, -1)
    ]
    assert document["callers_total"] == 30 and document["callees_total"] == 0


def with_errors(pattern_id: int, name: str, count: int, errors: int) -> SpanPattern:
    found = pattern(pattern_id, name)
    found.stats.count, found.stats.error_count = count, errors
    return found


def test_errors_are_followed_down_to_the_child_they_start_at() -> None:
    page = with_errors(1, "http_server_cart", 100, 10)
    lookup = with_errors(2, "internal_cart_lookup", 100, 10)
    redis = with_errors(3, "redis_cache_hgetall", 100, 9)
    other = with_errors(4, "postgres_query_select", 100, 1)
    # A shared dependency failing for its other callers: 50 errors, 2 of its 1000 spans here.
    shared = with_errors(5, "http_call_auth", 1000, 50)
    page.children = Counter({lookup.id: 100, other.id: 100, shared.id: 2})
    lookup.children = Counter({redis.id: 100})
    graph = {p.id: p for p in [page, lookup, redis, other, shared]}
    facts = pattern_facts(page, graph)
    assert [hop.name for hop in facts.error_chain] == [lookup.name, redis.name]
    assert facts.as_dict()["errors"]["from_children"][-1]["name"] == redis.name  # type: ignore[index]
    answer = answer_text("why does it fail?", facts)
    assert f"The errors start at @{redis.name}" in answer


def test_a_pattern_failing_itself_has_no_error_chain() -> None:
    page = with_errors(1, "http_server_cart", 100, 10)
    child = with_errors(2, "postgres_query_select", 100, 1)
    page.children = Counter({child.id: 100})
    assert pattern_facts(page, {1: page, 2: child}).error_chain == []


def test_quantiles_never_exceed_the_longest_span() -> None:
    found = pattern(1, "http_server_orders")
    found.stats.count = 100
    add_durations_ms(found.stats.durations_ms, [557.0] * 100)
    found.stats.max_duration_ns = 556_900_000  # the sketch's bucket of 557 ms reads higher
    facts = pattern_facts(found, {1: found})
    assert facts.p99_ms <= facts.max_ms == 556.9
    assert facts.p50_ms <= facts.max_ms


def test_every_callee_is_named_beyond_the_described_ones() -> None:
    caller = pattern(0, "internal_checkout_process_order")
    callees = [pattern(i, f"callee_{i}") for i in range(1, NEIGHBOURS_SHOWN + 3)]
    caller.children = Counter({c.id: 100 - c.id for c in callees})
    facts = pattern_facts(caller, {p.id: p for p in [caller, *callees]})
    answer = answer_text("what does it call?", facts)
    assert all(f"@{c.name}" in answer for c in callees)
    assert "and 2 more: @callee_9, @callee_10" in answer


@pytest.mark.parametrize(
    ("verdict", "said"),
    [
        ("noise", "Verdict: noise"),
        ("keep", "Verdict: keep, not noise"),
        (None, "not been classified"),
    ],
)
def test_is_it_noise_is_answered_with_the_verdict_and_its_reason(
    verdict: str | None, said: str
) -> None:
    found = pattern(1, "http_server_healthz")
    reason = "A health check: infrastructure asking whether it is up." if verdict else None
    facts = pattern_facts(found, {1: found}, verdict=verdict, verdict_reason=reason)
    answer = answer_text("is it just noise?", facts)
    assert said in answer
    assert reason is None or reason in answer
    assert facts.as_dict()["verdict"] == verdict
