"""Ground truth derived from the sample system's spans, checked against the spans themselves."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from app.classify.run import classify_patterns, live_patterns
from app.discovery.patterns import SpanPattern
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore
from app.sample import FaultName, SampleConfig, generate_traces
from app.sample import topology as tp
from app.sample.faults import INJECTIONS, TARGETS
from connectors.spans import Span, SpanKind
from evals.cases import Ref, SampleScenario, SpanSelector
from evals.scenario import sample_truth
from evals.truth import ScenarioTruth, TruthError, quantile, unlabelled_key

SCENARIO = SampleScenario.model_validate(
    {
        "seed": 42,
        "traces": 800,
        "faults": ["slow_query", "provider_5xx_burst", "kafka_consumer_lag", "prompt_injection"],
    }
)


@pytest.fixture(scope="module")
def truth() -> ScenarioTruth:
    return sample_truth(SCENARIO)


@pytest.fixture(scope="module")
def patterns(tmp_path_factory: pytest.TempPathFactory) -> list[SpanPattern]:
    store = PatternStore(tmp_path_factory.mktemp("truth") / "patterns.sqlite")
    discover_sample(store, SCENARIO.seed, SCENARIO.traces, SCENARIO.built_faults())
    classify_patterns(store)
    found = live_patterns(store.load())
    store.close()
    return found


def spans_of(label: str) -> list[Span]:
    config = SampleConfig(
        seed=SCENARIO.seed, traces=SCENARIO.traces, faults=SCENARIO.built_faults()
    )
    return [
        span
        for trace in generate_traces(config)
        for span in trace.spans
        if trace.truth[span.span_id] == label
    ]


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.0),  # rank 1.5 rounds down
        ([1.0, 2.0, 3.0, 4.0], 0.99, 3.0),
        ([1.0, 2.0, 3.0, 4.0], 1.0, 4.0),
        ([7.0], 0.99, 7.0),
        ([], 0.5, 0.0),
    ],
)
def test_quantiles_are_taken_at_the_rounded_down_rank(
    values: list[float], q: float, expected: float
) -> None:
    assert quantile(values, q) == expected


def test_numbers_of_an_operation_are_those_of_its_spans(truth: ScenarioTruth) -> None:
    label = tp.PA_STRIPE_CHARGE.label
    spans = spans_of(label)
    operation = truth.operation(label)
    durations = sorted(s.duration_ms for s in spans)
    assert operation.count == len(spans)
    assert operation.quantile_ms(0.99) == durations[math.floor(0.99 * (len(spans) - 1))]
    assert operation.error_count == sum(1 for s in spans if s.is_error)
    assert operation.error_rate == pytest.approx(operation.error_count / len(spans))
    seconds = (max(s.end_unix_nano for s in spans) - min(s.start_unix_nano for s in spans)) / 1e9
    assert operation.rate_per_hour == pytest.approx(len(spans) / seconds * 3600)


def test_the_stored_statistics_agree_with_the_truth(
    truth: ScenarioTruth, patterns: list[SpanPattern]
) -> None:
    """What answers are written from (a DDSketch) is within its 1% of the spans' truth."""
    label = tp.IN_SELECT_CATEGORY.label
    pattern = next(p for p in patterns if p.name == truth.pattern_of(label, patterns).name)
    operation = truth.operation(label)
    assert pattern.stats.count == operation.count
    assert pattern.stats.quantile_ms(0.99) == pytest.approx(operation.quantile_ms(0.99), rel=0.01)


def test_a_fault_ref_means_the_operation_the_fault_targets(truth: ScenarioTruth) -> None:
    assert truth.resolve("q", Ref(fault=FaultName.SLOW_QUERY)) == tp.IN_SELECT_CATEGORY.label
    # the provider burst targets charges and refunds: the busier of the two is the charge
    burst = Ref(fault=FaultName.PROVIDER_5XX_BURST, pick="most_spans")
    assert truth.resolve("c", burst) == tp.PA_STRIPE_CHARGE.label
    with pytest.raises(TruthError, match="matches 2 operations"):
        truth.resolve("c", Ref(fault=FaultName.PROVIDER_5XX_BURST))
    with pytest.raises(TruthError, match="matches no operation"):
        truth.resolve("x", Ref(operation="nowhere|server|GET /"))


def test_selectors_and_picks_rank_operations_by_their_spans(truth: ScenarioTruth) -> None:
    frontend = SpanSelector(service="frontend", kind="server")
    busiest = truth.resolve("b", Ref(select=frontend, pick="most_spans"))
    counts = {
        key: op.count
        for key, op in truth.operations.items()
        if op.service == "frontend" and op.kind == "server"
    }
    assert busiest == max(counts, key=lambda key: counts[key])
    by_route = Ref(select=SpanSelector(service="frontend", attributes={"http.route": "^/search$"}))
    assert truth.resolve("s", by_route) == tp.FE_SEARCH.label


def test_the_slow_query_is_many_times_slower_inside_its_window(truth: ScenarioTruth) -> None:
    fault, (start, end) = truth.window(FaultName.SLOW_QUERY)
    config = SampleConfig(seed=SCENARIO.seed, traces=SCENARIO.traces)
    begin = config.end_time_unix_nano / 1e9 - config.spread_s
    assert start == pytest.approx(begin + 0.55 * config.spread_s)
    assert end == pytest.approx(begin + 0.8 * config.spread_s)
    query = truth.operation(tp.IN_SELECT_CATEGORY.label)
    assert 10 <= query.slow_factor(start, end) <= 50
    # an operation the fault does not touch is not slower
    other = truth.operation(tp.IN_SELECT_PRODUCT.label)
    assert other.slow_factor(start, end) == pytest.approx(1.0, abs=0.5)
    with pytest.raises(TruthError, match="does not have exactly one fault"):
        truth.window(None)


def test_callers_and_callees_come_from_parents_and_links(truth: ScenarioTruth) -> None:
    query = truth.operation(tp.IN_SELECT_CATEGORY.label)
    assert set(query.callers) == {tp.IN_LIST_PRODUCTS.label}
    assert query.calls_per_parent == pytest.approx(1.0)
    server = truth.operation(tp.IN_LIST_PRODUCTS.label)
    assert tp.IN_SELECT_CATEGORY.label in server.callees
    consumer = truth.operation(tp.NO_CONSUME.label)
    assert set(consumer.callers) == {tp.CO_PUBLISH.label}  # a Kafka link, not a parent


def test_consumer_lag_grows_to_the_fault_s_peak(truth: ScenarioTruth) -> None:
    consumer = truth.operation(tp.NO_CONSUME.label)
    assert consumer.lags_s and min(consumer.lags_s) >= 0
    assert 60 <= consumer.lag_max_s <= 92  # the backlog peaks at 90 s at the window's end


def test_errors_of_the_burst_are_5xx_inside_its_window(truth: ScenarioTruth) -> None:
    charge = truth.operation(tp.PA_STRIPE_CHARGE.label)
    _, window = truth.window(FaultName.PROVIDER_5XX_BURST)
    assert charge.window_error_status(*window) in ("502", "503")


def test_secrets_and_injections_are_found_in_the_spans(truth: ScenarioTruth) -> None:
    assert any(secret.startswith("sk_live_") for secret in truth.secrets)
    assert any(secret.startswith("pg_") for secret in truth.secrets)  # the JDBC password
    assert set(truth.injections) == set(INJECTIONS)


def test_an_operation_becomes_the_pattern_whose_matchers_its_spans_satisfy(
    truth: ScenarioTruth, patterns: list[SpanPattern]
) -> None:
    for label in (*TARGETS[FaultName.SLOW_QUERY], tp.NO_CONSUME.label, tp.FE_SEARCH.label):
        found = truth.pattern_of(label, patterns)
        pattern = next(p for p in patterns if p.name == found.name)
        assert found.share == 1.0 and found.others == ()
        assert pattern.service == truth.operation(label).service
    query = truth.pattern_of(tp.IN_SELECT_CATEGORY.label, patterns)
    assert "category_id" in next(p.operation for p in patterns if p.name == query.name)


def test_spans_without_labels_are_grouped_by_service_kind_and_name() -> None:
    span = Span("a" * 32, "b" * 16, None, "GET /x", SpanKind.SERVER, 0, 1_000_000)
    span.resource = {"service.name": "shop"}
    assert unlabelled_key(span) == "shop|server|GET /x"
    truth = ScenarioTruth([(span, unlabelled_key(span))], labelled=False)
    assert truth.operation("shop|server|GET /x").max_ms == 1.0


def test_the_truth_of_a_case_built_twice_is_the_same(tmp_path: Path) -> None:
    small = SampleScenario(seed=5, traces=100)
    first, second = sample_truth(small), sample_truth(small)
    assert {k: o.count for k, o in first.operations.items()} == {
        k: o.count for k, o in second.operations.items()
    }
