"""What the facts of one pattern hold, and that they stay small whatever its neighbourhood."""

from __future__ import annotations

from collections import Counter

from app.discovery.operation import Family
from app.discovery.patterns import SpanPattern
from app.facts.pattern_facts import NEIGHBOURS_SHOWN, pattern_facts


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
