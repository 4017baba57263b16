"""'Why is this slow?' on the sample system with an injected slow query, against the truth.

The slow_query fault makes inventory's category listing SELECT 10-50x slower during a known
window; the facts must find that window and the slowdown, and name the query as where its
callers' extra time went, with numbers within 5% of what the spans themselves say.
"""

from __future__ import annotations

import statistics

import pytest

from app.discovery.normalize import normalize
from app.discovery.patterns import SpanPattern
from app.discovery.run import DiscoveryRun, sample_batches, sample_source
from app.discovery.store import PatternStore
from app.facts.pattern_facts import PatternFacts, pattern_facts
from app.facts.render import answer_text
from app.sample import SampleConfig, faults_by_name, generate_traces
from app.sample import topology as tp

SEED, TRACES = 42, 1500
FAULTS = faults_by_name(["slow_query"])


@pytest.fixture(scope="module")
def discovered(tmp_path_factory: pytest.TempPathFactory) -> list[SpanPattern]:
    store = PatternStore(tmp_path_factory.mktemp("why") / "patterns.sqlite")
    run = DiscoveryRun(store, normalize, source=sample_source(SEED, TRACES, FAULTS))
    for batch in sample_batches(SEED, TRACES, FAULTS):
        run.accept(batch)
    run.finish()
    return store.load()


def truth() -> tuple[float, float, list[tuple[float, float]]]:
    """The fault window in unix seconds, and (start s, duration ms) of the slow query's spans."""
    config = SampleConfig(seed=SEED, traces=TRACES, faults=FAULTS)
    start = config.end_time_unix_nano / 1e9 - config.spread_s
    fault = FAULTS[0]
    window = (start + fault.start * config.spread_s, start + fault.end * config.spread_s)
    spans = [
        (span.start_unix_nano / 1e9, span.duration_ms)
        for trace in generate_traces(config)
        for span in trace.spans
        if trace.truth[span.span_id] == tp.IN_SELECT_CATEGORY.label
    ]
    return window[0], window[1], spans


def facts_of(patterns: list[SpanPattern], operation_part: str, service: str) -> PatternFacts:
    pattern = next(p for p in patterns if p.service == service and operation_part in p.operation)
    return pattern_facts(pattern, {p.id: p for p in patterns})


def test_the_slow_query_is_found_with_its_window_and_slowdown(
    discovered: list[SpanPattern],
) -> None:
    start, end, spans = truth()
    spread = SampleConfig(seed=SEED, traces=TRACES).spread_s
    facts = facts_of(discovered, "WHERE category_id = ?", "inventory")
    assert len(facts.slow) == 1
    period = facts.slow[0].period
    assert abs(period.start_s - start) <= 0.05 * spread
    assert abs(period.end_s - end) <= 0.05 * spread
    during = [ms for at, ms in spans if start <= at < end]
    outside = [ms for at, ms in spans if not start <= at < end]
    assert period.p50_during_ms == pytest.approx(statistics.median(during), rel=0.05)
    assert period.p50_outside_ms == pytest.approx(statistics.median(outside), rel=0.05)
    assert period.share == pytest.approx(len(during) / len(spans), abs=0.05)
    assert 10 <= period.factor <= 50

    answer = answer_text("why is this slow?", facts)
    assert f"@{facts.name}" in answer and "its own time" in answer
    assert f"{period.factor:.1f}x" in answer


def test_its_callers_extra_time_is_traced_to_the_query(discovered: list[SpanPattern]) -> None:
    query = facts_of(discovered, "WHERE category_id = ?", "inventory")
    server = facts_of(discovered, "InventoryService/ListProducts", "inventory")
    assert server.span_kind == "server" or server.callees
    assert len(server.slow) == 1
    cause = server.slow[0]
    assert cause.children[0].name == query.name
    assert cause.explained_ms == pytest.approx(cause.added_ms, rel=0.10)
    answer = answer_text("why is @it slow", server)
    assert f"@{query.name} added" in answer


def test_a_pattern_that_did_not_slow_down_says_so(discovered: list[SpanPattern]) -> None:
    facts = facts_of(discovered, "WHERE sku = ?", "inventory")
    assert facts.slow == []
    assert "No period stands out" in answer_text("why is it slow?", facts)


def test_a_page_three_hops_up_is_traced_down_the_chain_to_the_query(
    discovered: list[SpanPattern],
) -> None:
    query = facts_of(discovered, "WHERE category_id = ?", "inventory")
    page = facts_of(discovered, "GET /category", "frontend")
    assert page.slow
    chain = page.slow[0].chain
    assert len(chain) >= 2 and chain[-1].name == query.name
    answer = answer_text("why is it slow?", page)
    assert f"@{query.name} spent the extra time itself" in answer
