"""The sample shop: well-formed, deterministic traces whose faults do what they claim."""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from urllib.parse import unquote_plus

import msgspec
import pytest

from app.sample import (
    OPERATIONS,
    Fault,
    FaultName,
    GeneratedTrace,
    SampleConfig,
    faults_by_name,
    generate_spans,
    generate_traces,
)
from app.sample import topology as tp
from app.sample.faults import DEFAULT_WINDOWS, DEPLOY_VERSION
from connectors.spans import Span, SpanKind, StatusCode

SEED = 7
TRACES = 3000

# One fault per window, none overlapping, so each can be compared with the time around it.
# Kafka lag drains for three minutes after its window (until about 0.8); nothing below looks
# at notification traces there.
WINDOWS = {
    FaultName.SLOW_QUERY: (0.05, 0.15),
    FaultName.PROVIDER_5XX_BURST: (0.2, 0.35),
    FaultName.CACHE_TIMEOUT_STORM: (0.4, 0.45),
    FaultName.KAFKA_CONSUMER_LAG: (0.5, 0.6),
    FaultName.NOISY_HEALTH_CHECK: (0.62, 0.68),
    FaultName.N_PLUS_ONE: (0.7, 0.8),
    FaultName.PROMPT_INJECTION: (0.82, 0.88),
    FaultName.DEPLOY_LATENCY_SHIFT: (0.9, 1.0),
}
FAULTS = tuple(Fault(name, start, end) for name, (start, end) in WINDOWS.items())
BASELINE = SampleConfig(seed=SEED, traces=TRACES)
FAULTED = SampleConfig(seed=SEED, traces=TRACES, faults=FAULTS)


@pytest.fixture(scope="module")
def baseline() -> list[GeneratedTrace]:
    return list(generate_traces(BASELINE))


@pytest.fixture(scope="module")
def faulted() -> list[GeneratedTrace]:
    return list(generate_traces(FAULTED))


def window(name: FaultName) -> tuple[int, int]:
    fault = next(f for f in FAULTS if f.name is name)
    return fault.window_ns(FAULTED.end_time_unix_nano, FAULTED.spread_s)


def labelled(traces: list[GeneratedTrace], label: str) -> list[tuple[GeneratedTrace, Span]]:
    return [(trace, s) for trace in traces for s in trace.spans if trace.truth[s.span_id] == label]


def split_by_window(
    traces: list[GeneratedTrace], name: FaultName, label: str
) -> tuple[list[Span], list[Span]]:
    """Spans of ``label`` in traces starting inside the fault's window, and all others."""
    lo, hi = window(name)
    inside, outside = [], []
    for trace, span in labelled(traces, label):
        (inside if lo <= trace.spans[0].start_unix_nano < hi else outside).append(span)
    return inside, outside


def error_share(spans: list[Span]) -> float:
    return sum(s.status_code is StatusCode.ERROR for s in spans) / len(spans)


# --- shape of every trace ---------------------------------------------------------------------


def test_the_same_config_gives_the_same_spans() -> None:
    config = SampleConfig(seed=11, traces=300, faults=faults_by_name(["cache_timeout_storm"]))
    first = [msgspec.json.encode([t.spans, t.truth, t.scenario]) for t in generate_traces(config)]
    again = [msgspec.json.encode([t.spans, t.truth, t.scenario]) for t in generate_traces(config)]
    assert first == again


def test_another_seed_gives_other_spans() -> None:
    def names_and_ids(seed: int) -> list[tuple[str, str]]:
        return [(s.trace_id, s.name) for s in generate_spans(SampleConfig(seed=seed, traces=50))]

    one, other = names_and_ids(1), names_and_ids(2)
    assert not {trace_id for trace_id, _ in one} & {trace_id for trace_id, _ in other}
    assert [name for _, name in one] != [name for _, name in other]


def test_every_span_carries_a_defined_label_of_its_own_service_and_kind(
    baseline: list[GeneratedTrace],
) -> None:
    for trace in baseline:
        assert set(trace.truth) == {s.span_id for s in trace.spans}
        for span in trace.spans:
            operation = OPERATIONS[trace.truth[span.span_id]]
            assert (operation.service, operation.kind) == (span.service_name, span.kind)
            assert (operation.scope.name, operation.scope.version) == (
                span.scope_name,
                span.scope_version,
            )


def test_defining_an_operation_label_twice_fails() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        tp._op("frontend", SpanKind.SERVER, "http", "GET /products/{sku}")


def test_ids_are_lower_hex_of_the_right_length_and_unique(
    baseline: list[GeneratedTrace],
) -> None:
    span_ids = [s.span_id for trace in baseline for s in trace.spans]
    trace_ids = [trace.trace_id for trace in baseline]
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) and i != "0" * 16 for i in span_ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) and i != "0" * 32 for i in trace_ids)
    assert len(set(span_ids)) == len(span_ids)
    assert len(set(trace_ids)) == len(trace_ids)
    assert all(s.trace_id == trace.trace_id for trace in baseline for s in trace.spans)


def test_each_trace_has_one_root_and_parents_within_the_trace(
    baseline: list[GeneratedTrace],
) -> None:
    for trace in baseline:
        ids = {s.span_id for s in trace.spans}
        roots = [s for s in trace.spans if s.parent_span_id is None]
        assert roots == [trace.spans[0]]
        assert all(s.parent_span_id in ids for s in trace.spans[1:])


def test_children_start_and_end_within_their_parents(faulted: list[GeneratedTrace]) -> None:
    for trace in faulted:
        by_id = {s.span_id: s for s in trace.spans}
        for span in trace.spans:
            assert span.start_unix_nano < span.end_unix_nano, span
            if span.parent_span_id is not None:
                parent = by_id[span.parent_span_id]
                assert parent.start_unix_nano <= span.start_unix_nano
                assert span.end_unix_nano <= parent.end_unix_nano, (parent.name, span.name)


def test_traces_come_in_order_of_start_within_the_spread(faulted: list[GeneratedTrace]) -> None:
    starts = [trace.spans[0].start_unix_nano for trace in faulted]
    assert starts == sorted(starts)
    begin = FAULTED.end_time_unix_nano - int(FAULTED.spread_s * 1e9)
    assert begin <= starts[0] and starts[-1] <= FAULTED.end_time_unix_nano


def test_consumer_roots_link_to_the_producer_span_of_an_earlier_trace(
    baseline: list[GeneratedTrace],
) -> None:
    producers: dict[tuple[str, str], Span] = {}
    consumers = 0
    for trace in baseline:
        root = trace.spans[0]
        if root.kind is SpanKind.CONSUMER:
            consumers += 1
            (link,) = root.links
            producer = producers[(link.trace_id, link.span_id)]
            assert (
                producer.attributes["messaging.kafka.message.key"]
                == (root.attributes["messaging.kafka.message_key"])
            )
            assert root.start_unix_nano > producer.end_unix_nano
        for span in trace.spans:
            if span.kind is SpanKind.PRODUCER:
                producers[(span.trace_id, span.span_id)] = span
    assert consumers > 100


@pytest.mark.parametrize(
    ("current", "legacy"),
    [
        ("http.request.method", "http.method"),
        ("url.full", "http.url"),
        ("url.path", "http.target"),
        ("http.response.status_code", "http.status_code"),
        ("server.address", "net.peer.name"),
        ("db.query.text", "db.statement"),
        ("db.operation.name", "db.operation"),
        ("db.collection.name", "db.sql.table"),
        ("messaging.operation.type", "messaging.operation"),
        ("db.system.name", "db.system"),
    ],
)
def test_current_and_legacy_attribute_names_both_occur(
    baseline: list[GeneratedTrace], current: str, legacy: str
) -> None:
    keys = {key for trace in baseline for s in trace.spans for key in s.attributes}
    assert {current, legacy} <= keys


def test_resources_describe_pods_of_the_shop(baseline: list[GeneratedTrace]) -> None:
    resources = {id(s.resource): s.resource for trace in baseline for s in trace.spans}
    services = {r["service.name"] for r in resources.values()}
    assert services == set(tp.SERVICES)
    for resource in resources.values():
        assert resource["k8s.pod.name"].startswith(resource["service.name"] + "-")
        for key in ("service.version", "service.instance.id", "host.name", "telemetry.sdk.name"):
            assert resource[key]
    assert len(resources) == sum(spec.replicas for spec in tp.SERVICES.values())


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("frontend|server|GET /products/{sku}", "url.path"),  # SKU-01187
        ("cart|server|GET /v1/cart/{userId}", "http.target"),  # integers
        ("checkout|client|GET payment.shop.svc.cluster.local /v1/payments/{paymentId}", "url.full"),
        ("payment|client|GET api.stripe.com /v1/customers/{customer}", "http.url"),  # cus_...
        ("payment|client|GET api.stripe.com /v1/customers", "http.url"),  # ?email=...
        ("checkout|internal|process order {order_id}", ""),  # the span name carries the id
        ("inventory|client|postgresql SELECT inventory WHERE sku IN (...)", "db.query.text"),
    ],
)
def test_spans_of_one_operation_carry_different_ids(
    baseline: list[GeneratedTrace], label: str, key: str
) -> None:
    spans = [span for _, span in labelled(baseline, label)]
    values = {span.attributes[key] if key else span.name for span in spans}
    assert len(spans) >= 10
    assert len(values) >= len(spans) / 2


def test_select_for_update_is_another_operation_than_a_plain_select(
    baseline: list[GeneratedTrace],
) -> None:
    labels: dict[bool, set[str]] = defaultdict(set)
    for trace in baseline:
        for span in trace.spans:
            statement = span.attributes.get("db.query.text", "")
            if re.match(
                r"SELECT sku, available(, reserved)? FROM inventory WHERE sku = ", statement
            ):
                labels["FOR UPDATE" in statement].add(trace.truth[span.span_id])
    assert labels[True] == {"inventory|client|postgresql SELECT inventory FOR UPDATE"}
    assert labels[False] == {"inventory|client|postgresql SELECT inventory"}


def test_sql_varies_in_literals_list_lengths_and_comments(baseline: list[GeneratedTrace]) -> None:
    statements = [
        span.attributes["db.query.text"]
        for _, span in labelled(baseline, tp.IN_SELECT_STOCK_LIST.label)
    ]
    assert len({s.split(" /*")[0].count(",") for s in statements}) > 5
    assert any("/*traceparent='00-" in s for s in statements)
    assert not all("/*traceparent" in s for s in statements)


def test_a_card_decline_is_an_exception_in_payment_and_a_402_for_the_browser(
    baseline: list[GeneratedTrace],
) -> None:
    declined = [
        trace
        for trace, span in labelled(baseline, tp.PA_STRIPE_CHARGE.label)
        if span.attributes["http.status_code"] == 402
    ]
    assert declined
    for trace in declined:
        root = trace.spans[0]
        assert root.attributes["http.response.status_code"] == 402
        assert root.status_code is StatusCode.UNSET  # a 4xx is not the server's error
        (controller,) = [s for s in trace.spans if s.name == "PaymentController.charge"]
        (event,) = controller.events
        assert event.attributes["exception.type"] == "com.shop.payment.CardDeclinedException"
        assert event.attributes["exception.stacktrace"].startswith(
            "com.shop.payment.CardDeclinedException: Your card was declined."
        )
        assert controller.status_code is StatusCode.ERROR


def test_some_stripe_calls_carry_a_bearer_secret(baseline: list[GeneratedTrace]) -> None:
    calls = [span for _, span in labelled(baseline, tp.PA_STRIPE_CHARGE.label)]
    headers = [s.attributes.get("http.request.header.authorization") for s in calls]
    secrets = [h[0] for h in headers if h]
    assert 0 < len(secrets) < len(calls)
    assert all(re.fullmatch(r"Bearer sk_live_[0-9A-Za-z]{24,}", s) for s in secrets)


# --- faults -------------------------------------------------------------------------------


def test_slow_query_makes_the_category_select_much_slower_in_its_window(
    faulted: list[GeneratedTrace],
) -> None:
    inside, outside = split_by_window(faulted, FaultName.SLOW_QUERY, tp.IN_SELECT_CATEGORY.label)
    p50_inside = statistics.median(s.duration_ns for s in inside)
    p50_outside = statistics.median(s.duration_ns for s in outside)
    assert p50_inside > 8 * p50_outside


def provider_failed_every_charge(trace: GeneratedTrace) -> bool:
    charges = [span for _, span in labelled([trace], tp.PA_STRIPE_CHARGE.label)]
    return bool(charges) and all(s.attributes["http.status_code"] >= 500 for s in charges)


def test_provider_5xx_burst_fails_stripe_calls_and_the_checkouts_above_them(
    faulted: list[GeneratedTrace],
) -> None:
    inside, outside = split_by_window(
        faulted, FaultName.PROVIDER_5XX_BURST, tp.PA_STRIPE_CHARGE.label
    )
    assert error_share(inside) > 0.4
    assert error_share(outside) < 0.1
    assert {s.attributes["http.status_code"] for s in inside} >= {502, 503}
    lo, hi = window(FaultName.PROVIDER_5XX_BURST)
    failed = [
        trace
        for trace in faulted
        if trace.scenario == "checkout"
        and lo <= trace.spans[0].start_unix_nano < hi
        and provider_failed_every_charge(trace)
    ]
    assert len(failed) >= 5
    for trace in failed:
        assert trace.spans[0].attributes["http.response.status_code"] == 502
        erroneous = {trace.truth[s.span_id] for s in trace.spans if s.is_error}
        assert {
            tp.FE_CHECKOUT.label,
            tp.CO_CHECKOUT.label,
            tp.PA_CHARGE.label,
            tp.PA_CONTROLLER_CHARGE.label,
        } <= erroneous
        events = [e.attributes["exception.type"] for s in trace.spans for e in s.events]
        assert "com.stripe.exception.ApiException" in events


def test_cache_timeout_storm_times_redis_commands_out(faulted: list[GeneratedTrace]) -> None:
    lo, hi = window(FaultName.CACHE_TIMEOUT_STORM)
    inside, outside = [], []
    for trace in faulted:
        for span in trace.spans:
            if "|client|redis " in trace.truth[span.span_id]:
                in_window = lo <= trace.spans[0].start_unix_nano < hi
                (inside if in_window else outside).append(span)
    assert error_share(inside) > 0.3
    assert error_share(outside) < 0.01
    failed = [s for s in inside if s.is_error]
    assert all(s.duration_ms >= 500 for s in failed)
    assert all(s.events[0].attributes["exception.type"] for s in failed)
    python = [s for s in failed if s.resource["telemetry.sdk.language"] == "python"]
    assert python
    assert {s.events[0].attributes["exception.type"] for s in python} == {
        "redis.exceptions.TimeoutError"
    }


def test_kafka_consumer_lag_delays_consumers_of_messages_produced_in_its_window(
    faulted: list[GeneratedTrace],
) -> None:
    lo, hi = window(FaultName.KAFKA_CONSUMER_LAG)
    produced = {
        span.span_id: span.start_unix_nano
        for trace in faulted
        for span in trace.spans
        if span.kind is SpanKind.PRODUCER
    }
    lag_inside, lag_before = [], []
    for trace in faulted:
        root = trace.spans[0]
        if root.kind is SpanKind.CONSUMER:
            at = produced[root.links[0].span_id]
            lag_s = (root.start_unix_nano - at) / 1e9
            if lo + (hi - lo) // 2 <= at < hi:
                lag_inside.append(lag_s)
            elif at < lo:
                lag_before.append(lag_s)
    assert statistics.median(lag_inside) > 30
    assert max(lag_before) < 2


def test_noisy_health_check_adds_a_busy_new_endpoint(
    faulted: list[GeneratedTrace], baseline: list[GeneratedTrace]
) -> None:
    lo, hi = window(FaultName.NOISY_HEALTH_CHECK)
    polls = [t for t in faulted if t.truth[t.spans[0].span_id] == tp.FE_API_HEALTHZ.label]
    others = [t for t in faulted if lo <= t.spans[0].start_unix_nano < hi and t not in polls]
    assert all(lo <= t.spans[0].start_unix_nano < hi for t in polls)
    assert len(polls) >= 3 * len(others)
    assert not labelled(baseline, tp.FE_API_HEALTHZ.label)


def test_n_plus_one_replaces_the_in_list_by_one_select_per_item(
    faulted: list[GeneratedTrace],
) -> None:
    lo, hi = window(FaultName.N_PLUS_ONE)
    for trace, server in labelled(faulted, tp.CA_GET.label):
        children = [
            trace.truth[s.span_id] for s in trace.spans if s.parent_span_id == server.span_id
        ]
        per_item = children.count(tp.CA_SELECT_PRODUCT.label)
        in_list = children.count(tp.CA_SELECT_PRODUCTS.label)
        if lo <= trace.spans[0].start_unix_nano < hi:
            assert in_list == 0
        else:
            assert per_item == 0 and in_list <= 1
    inside, _ = split_by_window(faulted, FaultName.N_PLUS_ONE, tp.CA_SELECT_PRODUCT.label)
    assert len(inside) > 50


def test_deploy_latency_shift_slows_the_route_and_changes_the_version(
    faulted: list[GeneratedTrace],
) -> None:
    inside, outside = split_by_window(faulted, FaultName.DEPLOY_LATENCY_SHIFT, tp.CO_ORDER.label)
    assert {s.resource["service.version"] for s in inside} == {DEPLOY_VERSION}
    assert DEPLOY_VERSION not in {s.resource["service.version"] for s in outside}
    assert (
        statistics.median(s.duration_ms for s in inside)
        > statistics.median(s.duration_ms for s in outside) + 150
    )


def test_prompt_injection_text_appears_only_in_its_window(faulted: list[GeneratedTrace]) -> None:
    lo, hi = window(FaultName.PROMPT_INJECTION)
    pattern = re.compile(r"ignore (all )?previous instructions", re.IGNORECASE)
    injected = [
        trace
        for trace in faulted
        if any(
            isinstance(value, str) and pattern.search(unquote_plus(value))
            for s in trace.spans
            for value in s.attributes.values()
        )
    ]
    assert len(injected) >= 10
    assert all(lo <= t.spans[0].start_unix_nano < hi for t in injected)


def test_faults_change_only_the_traces_in_their_windows(
    baseline: list[GeneratedTrace], faulted: list[GeneratedTrace]
) -> None:
    windows = [window(f.name) for f in FAULTS]

    def untouched(trace: GeneratedTrace) -> bool:
        start = trace.spans[0].start_unix_nano
        return trace.scenario != "notification" and not any(lo <= start < hi for lo, hi in windows)

    encoded = {t.trace_id: msgspec.json.encode(t.spans) for t in faulted if untouched(t)}
    compared = [t for t in baseline if untouched(t)]
    assert len(compared) > TRACES // 4
    for trace in compared:
        assert encoded[trace.trace_id] == msgspec.json.encode(trace.spans)


# --- naming faults ------------------------------------------------------------------------


def test_faults_by_name_gives_the_default_windows() -> None:
    (fault,) = faults_by_name(["slow_query"])
    assert (fault.name, (fault.start, fault.end)) == (
        FaultName.SLOW_QUERY,
        DEFAULT_WINDOWS[FaultName.SLOW_QUERY],
    )
    assert fault.targets == (tp.IN_SELECT_CATEGORY.label,)


def test_an_unknown_fault_name_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown fault 'slow_queries'.*provider_5xx_burst"):
        faults_by_name(["slow_queries"])


@pytest.mark.parametrize(
    ("start", "end", "intensity"),
    [(0.5, 0.5, 1.0), (-0.1, 0.5, 1.0), (0.2, 1.5, 1.0), (0.2, 0.4, 0.0)],
)
def test_a_fault_window_must_lie_within_the_spread(
    start: float, end: float, intensity: float
) -> None:
    with pytest.raises(ValueError, match="fault slow_query"):
        Fault(FaultName.SLOW_QUERY, start, end, intensity)
