"""Consumer lag on the sample system: the notification consumer falls behind, against the truth.

The kafka_consumer_lag fault makes the consumer of orders.placed fall behind for a window
(lag up to 90 s), then drain. The facts must give its typical and peak lag within 2% of
the lags of the generated spans (consumer start minus the end of the producer span it links
to), when the peak was, and a period of falling behind that overlaps the fault's window.
"""

from __future__ import annotations

import pytest

from app.discovery.patterns import SpanPattern
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore
from app.facts.pattern_facts import pattern_facts
from app.facts.render import answer_text
from app.sample import SampleConfig, faults_by_name, generate_traces
from app.sample import topology as tp
from evals.truth import quantile

SEED, TRACES = 23, 3000
FAULTS = faults_by_name(["kafka_consumer_lag"])


@pytest.fixture(scope="module")
def patterns(tmp_path_factory: pytest.TempPathFactory) -> list[SpanPattern]:
    store = PatternStore(tmp_path_factory.mktemp("lag") / "patterns.sqlite")
    discover_sample(store, SEED, TRACES, FAULTS)
    loaded = store.load()  # through the store: the lag sketches are saved and read back
    store.close()
    return loaded


def truth() -> list[tuple[float, float]]:
    """(consumer start s, lag ms) of every consumed message."""
    config = SampleConfig(seed=SEED, traces=TRACES, faults=FAULTS)
    ends: dict[tuple[str, str], int] = {}
    consumers = []
    for trace in generate_traces(config):
        for span in trace.spans:
            label = trace.truth[span.span_id]
            if label == tp.CO_PUBLISH.label:
                ends[(span.trace_id, span.span_id)] = span.end_unix_nano
            elif label == tp.NO_CONSUME.label:
                consumers.append(span)
    found = []
    for span in consumers:
        link = span.links[0]
        produced = ends[(link.trace_id, link.span_id)]
        found.append((span.start_unix_nano / 1e9, (span.start_unix_nano - produced) / 1e6))
    return found


def test_the_consumer_lag_is_measured_with_its_peak_and_when_it_fell_behind(
    patterns: list[SpanPattern],
) -> None:
    config = SampleConfig(seed=SEED, traces=TRACES, faults=FAULTS)
    start_ns, end_ns = FAULTS[0].window_ns(config.end_time_unix_nano, config.spread_s)
    lags = truth()
    consumer = next(
        p for p in patterns if p.service == "notification" and p.span_kind == "consumer"
    )
    facts = pattern_facts(consumer, {p.id: p for p in patterns})
    lag = facts.lag
    assert lag is not None
    ordered = sorted(ms for _, ms in lags)
    assert lag.messages == len(lags)
    assert lag.p50_ms == pytest.approx(quantile(ordered, 0.5), rel=0.02)
    assert lag.p95_ms == pytest.approx(quantile(ordered, 0.95), rel=0.02)
    assert lag.max_ms == pytest.approx(ordered[-1], rel=0.02)
    assert lag.max_ms == pytest.approx(90_000, rel=0.1)  # the fault's documented peak
    peak_at = max(lags, key=lambda lag: lag[1])[0]
    assert lag.peak_at_s <= peak_at < lag.peak_at_s + consumer.stats.lag_timeline.width_s
    assert len(lag.behind) == 1
    behind = lag.behind[0]
    assert behind.start_s < end_ns / 1e9 and behind.end_s > start_ns / 1e9
    answer = answer_text("is it keeping up?", facts)
    assert "Consumer lag" in answer and "fell behind" in answer


def test_only_consumers_have_a_lag(patterns: list[SpanPattern]) -> None:
    graph = {p.id: p for p in patterns}
    with_lag = {p.span_kind for p in patterns if pattern_facts(p, graph).lag is not None}
    assert with_lag == {"consumer"}
