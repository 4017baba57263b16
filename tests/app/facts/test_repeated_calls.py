"""N+1 on the sample system: cart starts running one SELECT per item, against the truth.

The n_plus_one fault makes cart load each product of a cart with its own SELECT from half of
the sample's time on. The facts must name that query as a repeated call of the cart route,
from about when the fault started, with its calls per calling span within 10% of what the
generated spans say (distinct parent spans, counted exactly) and the time it adds.
"""

from __future__ import annotations

import statistics

import pytest

from app.discovery.patterns import SpanPattern
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore
from app.discovery.timeline import BASE_WIDTH_S
from app.facts.pattern_facts import pattern_facts
from app.facts.render import answer_text
from app.sample import SampleConfig, faults_by_name, generate_traces
from app.sample import topology as tp

SEED, TRACES = 13, 3000
FAULTS = faults_by_name(["n_plus_one"])


@pytest.fixture(scope="module")
def patterns(tmp_path_factory: pytest.TempPathFactory) -> list[SpanPattern]:
    store = PatternStore(tmp_path_factory.mktemp("n1") / "patterns.sqlite")
    discover_sample(store, SEED, TRACES, FAULTS)
    loaded = store.load()  # through the store: calls over time are saved and read back
    store.close()
    return loaded


def test_the_per_item_query_is_found_as_repeated_calls(patterns: list[SpanPattern]) -> None:
    config = SampleConfig(seed=SEED, traces=TRACES, faults=FAULTS)
    start_ns, _ = FAULTS[0].window_ns(config.end_time_unix_nano, config.spread_s)
    per_item: list[tuple[str, str]] = []  # (trace id, parent span id) of each per-item query
    durations: list[float] = []
    carts_after = 0
    for trace in generate_traces(config):
        for span in trace.spans:
            label = trace.truth[span.span_id]
            if label == tp.CA_SELECT_PRODUCT.label:
                per_item.append((span.trace_id, span.parent_span_id or ""))
                durations.append(span.duration_ms)
            elif label == tp.CA_GET.label and span.start_unix_nano >= start_ns:
                carts_after += 1
    cart = next(p for p in patterns if p.service == "cart" and p.operation.endswith("{userId}"))
    facts = pattern_facts(cart, {p.id: p for p in patterns})
    assert facts.repeated_calls, "no repeated call found"
    call = facts.repeated_calls[0]
    query = next(p for p in patterns if p.name == call.name)
    assert query.operation.endswith("WHERE id = ?")
    assert abs(call.since_s - start_ns / 1e9) <= BASE_WIDTH_S
    per_caller = len(per_item) / len(set(per_item))
    assert call.calls_per_caller_after == pytest.approx(per_caller, rel=0.1)
    assert call.calls_per_span_before < 0.5
    assert call.calls_per_span_after == pytest.approx(len(per_item) / carts_after, rel=0.1)
    assert call.child_p50_ms == pytest.approx(statistics.median(durations), rel=0.05)
    assert call.added_ms == pytest.approx(
        len(per_item) / carts_after * statistics.median(durations), rel=0.15
    )
    answer = answer_text("why is it slower?", facts)
    assert f"@{call.name} runs {call.calls_per_caller_after:.1f} calls per span" in answer


def test_no_other_pattern_has_repeated_calls(patterns: list[SpanPattern]) -> None:
    graph = {p.id: p for p in patterns}
    found = {
        p.name for p in patterns if p.merged_into is None and pattern_facts(p, graph).repeated_calls
    }
    cart = next(p for p in patterns if p.service == "cart" and p.operation.endswith("{userId}"))
    assert found == {cart.name}
