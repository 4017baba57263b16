"""'Why did it get slower?' when the slowdown lasts to the end: a level shift, against the truth.

The deploy_latency_shift fault rolls checkout 1.43.0 out from 60% of the sample's time to the
end, and GET /v1/orders/{orderId} gets about 250 ms slower on it: 40% of the time slow,
which the median of bucket medians cannot see. The facts must find when it started and the
medians before and after it, within 5% of what the generated spans themselves say.
"""

from __future__ import annotations

import pytest

from app.discovery.patterns import SpanPattern
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore
from app.discovery.timeline import BASE_WIDTH_S
from app.facts.pattern_facts import pattern_facts
from app.facts.render import answer_text
from app.facts.trend import level_shift
from app.sample import SampleConfig, faults_by_name, generate_traces
from app.sample import topology as tp
from evals.truth import quantile

SEED, TRACES = 42, 3000
FAULTS = faults_by_name(["deploy_latency_shift"])


@pytest.fixture(scope="module")
def patterns(tmp_path_factory: pytest.TempPathFactory) -> list[SpanPattern]:
    store = PatternStore(tmp_path_factory.mktemp("shift") / "patterns.sqlite")
    discover_sample(store, SEED, TRACES, FAULTS)
    loaded = store.load()
    store.close()
    return loaded


def spans_of(label: str) -> list[tuple[float, float]]:
    """(start s, duration ms) of the operation's spans."""
    config = SampleConfig(seed=SEED, traces=TRACES, faults=FAULTS)
    return [
        (span.start_unix_nano / 1e9, span.duration_ms)
        for trace in generate_traces(config)
        for span in trace.spans
        if trace.truth[span.span_id] == label
    ]


def test_the_deploy_is_found_as_a_level_shift_with_its_start_and_medians(
    patterns: list[SpanPattern],
) -> None:
    config = SampleConfig(seed=SEED, traces=TRACES, faults=FAULTS)
    start_ns, _ = FAULTS[0].window_ns(config.end_time_unix_nano, config.spread_s)
    orders = next(
        p for p in patterns if p.service == "checkout" and p.operation.endswith("{orderId}")
    )
    facts = pattern_facts(orders, {p.id: p for p in patterns})
    shifts = [cause.period for cause in facts.slow if cause.period.since_change]
    assert len(shifts) == 1
    shift = shifts[0]
    assert abs(shift.start_s - start_ns / 1e9) <= BASE_WIDTH_S
    spans = spans_of(tp.CO_ORDER.label)
    before = sorted(ms for at, ms in spans if at < shift.start_s)
    after = sorted(ms for at, ms in spans if at >= shift.start_s)
    assert shift.p50_outside_ms == pytest.approx(quantile(before, 0.5), rel=0.05)
    assert shift.p50_during_ms == pytest.approx(quantile(after, 0.5), rel=0.05)
    assert shift.spans == len(after)
    # about 250 ms slower: the shift is what the fault added
    assert shift.p50_during_ms - shift.p50_outside_ms == pytest.approx(250, rel=0.3)
    answer = answer_text("why did it get slower?", facts)
    assert "Slower since" in answer and f"({shift.factor:.1f}x)" in answer


def test_only_the_route_and_its_callers_shift(patterns: list[SpanPattern]) -> None:
    by_id = {p.id: p for p in patterns}
    orders = next(
        p for p in patterns if p.service == "checkout" and p.operation.endswith("{orderId}")
    )
    callers, todo = {orders.id}, [orders.id]
    while todo:
        for parent in by_id[todo.pop()].parents:
            if parent not in callers:
                callers.add(parent)
                todo.append(parent)
    shifted = {p.id for p in patterns if p.merged_into is None and level_shift(p.stats.timeline)}
    assert orders.id in shifted
    assert shifted <= callers
