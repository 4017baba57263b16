"""The offline classifier on the sample shop, checked against the shop's ground truth.

Patterns come from the sample's traces (seed 42, every fault active in its window), and each
pattern's true operation from the labels the generator gives every span, found through the
pattern's sampled spans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from app.classify.offline import classify_all_offline
from app.classify.verdict import Category, Classification, Verdict, is_snake_case_name
from app.discovery.cluster import PatternClusterer
from app.discovery.normalize import normalize
from app.discovery.operation import Family
from app.discovery.patterns import SpanPattern
from app.sample import FaultName, SampleConfig, faults_by_name, generate_traces
from app.sample import topology as tp

SEED = 42
TRACES = 3000
FAULTS = faults_by_name(name.value for name in FaultName)

PROBES = {
    op.label
    for op in (
        tp.FE_HEALTHZ,
        tp.FE_READYZ,
        tp.FE_API_HEALTHZ,
        tp.CO_HEALTHZ,
        tp.CO_READYZ,
        tp.CA_HEALTHZ,
        tp.SE_HEALTHZ,
        tp.NO_HEALTHZ,
        tp.PA_LIVENESS,
        tp.PA_READINESS,
        tp.IN_HEALTH,
    )
}
NOISE = PROBES | {tp.FE_STATIC.label, tp.FE_PING.label}
"""Probes, static files, and the Redis PING that only the /api/healthz probe sends."""


@dataclass
class Sample:
    clusterer: PatternClusterer
    truth: dict[int, str]
    """Pattern id -> the true operation label of its spans."""
    classified: dict[int, Classification]
    early_names: dict[int, str]
    """Names classify_all_offline gave after the first third of the traces."""

    @property
    def patterns(self) -> list[SpanPattern]:
        return self.clusterer.patterns

    def of(self, label: str) -> tuple[SpanPattern, Classification]:
        (pattern_id,) = [i for i, truth in self.truth.items() if truth == label]
        return self.patterns[pattern_id], self.classified[pattern_id]


def discover() -> Sample:
    clusterer = PatternClusterer(normalize)
    labels: dict[tuple[str, str], str] = {}
    early_names: dict[int, str] = {}
    batch = []
    for number, trace in enumerate(
        generate_traces(SampleConfig(seed=SEED, traces=TRACES, faults=FAULTS))
    ):
        batch.extend(trace.spans)
        labels.update({(trace.trace_id, span_id): label for span_id, label in trace.truth.items()})
        if len(batch) >= 5000:
            clusterer.accept(batch)
            batch = []
        if number == TRACES // 3:
            clusterer.accept(batch)
            batch = []
            early = classify_all_offline(clusterer.patterns)
            early_names = {i: c.name for i, c in early.items()}
    clusterer.accept(batch)
    truth: dict[int, str] = {}
    for pattern in clusterer.patterns:
        found = {labels[(s.trace_id, s.span_id)] for s in pattern.stats.typical}
        assert len(found) == 1, (pattern.operation, found)
        truth[pattern.id] = found.pop()
    classified = classify_all_offline(clusterer.patterns, assigned=early_names)
    return Sample(clusterer, truth, classified, early_names)


@pytest.fixture(scope="module")
def sample() -> Sample:
    return discover()


def test_every_pattern_is_classified_offline_with_a_unique_conventional_name(
    sample: Sample,
) -> None:
    assert set(sample.classified) == {p.id for p in sample.patterns}
    names = [c.name for c in sample.classified.values()]
    assert all(is_snake_case_name(name) for name in names)
    assert len(set(names)) == len(names)
    assert {c.source.value for c in sample.classified.values()} == {"offline"}


CATEGORIES = {
    (Family.HTTP_SERVER, "server"): Category.HTTP_SERVER,
    (Family.HTTP_CLIENT, "client"): Category.HTTP_CALL,
    (Family.DATABASE, "client"): Category.DB_QUERY,
    (Family.CACHE, "client"): Category.CACHE,
    (Family.RPC, "server"): Category.RPC_SERVER,
    (Family.RPC, "client"): Category.RPC_CALL,
    (Family.MESSAGING, "producer"): Category.MESSAGING_PUBLISH,
    (Family.MESSAGING, "consumer"): Category.MESSAGING_CONSUME,
    (Family.GENERIC, "internal"): Category.INTERNAL,
}


def test_categories_agree_with_family_and_kind(sample: Sample) -> None:
    for pattern in sample.patterns:
        expected = CATEGORIES[(pattern.family, pattern.span_kind)]
        assert sample.classified[pattern.id].category is expected, pattern.operation
    # the sample shows every category a shop's spans have
    assert {c.category for c in sample.classified.values()} == set(CATEGORIES.values())


def test_the_stripe_charge_call_is_named_after_stripe_and_charges(sample: Sample) -> None:
    pattern, classification = sample.of(tp.PA_STRIPE_CHARGE.label)
    assert classification.name == "http_call_stripe_post_charges"
    assert classification.category is Category.HTTP_CALL
    assert classification.verdict is Verdict.KEEP
    assert classification.description.startswith(
        "payment calls POST api.stripe.com/v1/charges for PaymentController.charge. About "
    )


def test_the_select_on_orders_is_postgres_query_select_orders(sample: Sample) -> None:
    _, classification = sample.of(tp.CO_SELECT_ORDER.label)
    assert classification.name == "postgres_query_select_orders"
    assert classification.description.startswith("checkout runs SELECT on orders in PostgreSQL")


@pytest.mark.parametrize(
    ("operation", "name"),
    [
        (tp.CO_PUBLISH, "kafka_publish_orders_placed"),
        (tp.NO_CONSUME, "kafka_process_orders_placed"),
        (tp.FE_GRPC_GET_PRODUCT, "grpc_call_inventory_get_product"),
        (tp.IN_GET_PRODUCT, "grpc_server_inventory_get_product"),
        (tp.IN_HEALTH, "grpc_server_inventory_health_check"),
        (tp.IN_CACHE_GET_PRODUCT, "redis_cache_get_product_sku"),
        (tp.FE_PRODUCT, "http_server_frontend_get_products"),
        (tp.FE_API_HEALTHZ, "http_server_frontend_get_api_healthz"),
        (tp.CO_CALL_RATES, "http_call_shipengine_post_rates_estimate"),
        (tp.NO_SEND_MAIL, "http_call_smtp_relay_post_mail_send"),
        (tp.PA_CONTROLLER_CHARGE, "internal_payment_controller_charge"),
        (tp.IN_SELECT_CATEGORY, "postgres_query_select_products_by_category_id"),
    ],
)
def test_names_of_the_shop_operations(sample: Sample, operation: tp.Operation, name: str) -> None:
    assert sample.of(operation.label)[1].name == name


def test_probes_static_files_and_probe_work_are_noise_and_all_else_is_kept(
    sample: Sample,
) -> None:
    verdicts = {sample.truth[i]: c.verdict for i, c in sample.classified.items()}
    assert {label for label, verdict in verdicts.items() if verdict is Verdict.NOISE} == NOISE
    for label in PROBES:
        reason = sample.of(label)[1].reasoning
        assert re.search(r"(health check|readiness probe|liveness probe) \(", reason), reason
        assert reason.endswith("not user traffic.")


_RATE = re.compile(r"^About ([0-9.]+)(k|M)? (?:\w+)/(s|h|day), ")
_P95 = re.compile(r", p95 ([0-9.]+) (ms|s|min), ")
_ERRORS = re.compile(r", (?:no errors|(<0\.1|[0-9.]+)% errors)")
_SCALE = {None: 1.0, "k": 1e3, "M": 1e6}
_PER_S = {"s": 1.0, "h": 1 / 3600, "day": 1 / 86400}
_MS = {"ms": 1.0, "s": 1e3, "min": 6e4}


def test_descriptions_quote_the_patterns_own_numbers(sample: Sample) -> None:
    """Read the numbers back out of each description and compare them with the statistics,
    within what rounding to the shown figures allows."""
    for pattern in sample.patterns:
        description = sample.classified[pattern.id].description
        assert len(description) <= 400
        assert description.startswith(f"{pattern.service} ")
        figures = description[description.rindex(". About ") + 2 :]
        stats = pattern.stats

        rate = _RATE.search(figures)
        assert rate is not None, description
        shown_per_s = float(rate[1]) * _SCALE[rate[2]] * _PER_S[rate[3]]
        assert shown_per_s == pytest.approx(stats.rate_per_s, rel=0.05), description

        p95 = _P95.search(figures)
        assert p95 is not None, description
        shown_ms = float(p95[1]) * _MS[p95[2]]
        decimals = len(p95[1].partition(".")[2])
        half_a_digit = 0.5 * 10**-decimals * _MS[p95[2]]
        assert abs(shown_ms - stats.quantile_ms(0.95)) <= half_a_digit + 1e-9, description

        errors = _ERRORS.search(figures)
        assert errors is not None, description
        if errors[1] is None:
            assert stats.error_count == 0, description
        elif errors[1] == "<0.1":
            assert 0 < stats.error_rate < 0.0005
        else:
            shown = float(errors[1])
            assert shown == pytest.approx(100 * stats.error_rate, abs=0.05 if shown < 10 else 0.5)


def test_descriptions_name_the_most_common_failure(sample: Sample) -> None:
    _, checkout = sample.of(tp.CO_CHECKOUT.label)
    assert ", mostly 502; " in checkout.description  # its errors
    assert re.search(r"; [0-9.]+% answered 402\.$", checkout.description)  # declined cards
    _, cart = sample.of(tp.CA_GET.label)
    assert "mostly 500 (StackExchange.Redis.RedisTimeoutException)" in cart.description


def test_names_given_earlier_are_kept_as_the_sample_grows(sample: Sample) -> None:
    assert sample.early_names
    for pattern_id, name in sample.early_names.items():
        assert sample.classified[pattern_id].name == name
    # The point of keeping them: named from scratch, a pattern that only appeared later
    # (cart's one-product SELECT of the n_plus_one fault) would take an earlier one's name.
    fresh = {i: c.name for i, c in classify_all_offline(sample.patterns).items()}
    renamed = {i for i, name in sample.early_names.items() if fresh[i] != name}
    assert renamed == {sample.of(tp.CA_SELECT_PRODUCTS.label)[0].id}


def test_classification_is_deterministic() -> None:
    first = discover()
    again = discover()
    assert again.classified == first.classified
    assert [p.operation for p in again.patterns] == [p.operation for p in first.patterns]
