"""Finding patterns by the words of a question, and ranking them when it asks for the most."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from app.chat.lexical import (
    Measure,
    find_by_words,
    rank_by,
    ranking_asked,
    stem,
    terms,
)
from app.discovery.operation import Family
from app.discovery.patterns import SpanPattern
from app.discovery.stats import PatternStats


def pattern(
    pattern_id: int,
    service: str,
    kind: str,
    operation: str,
    name: str,
    *,
    count: int = 100,
    errors: int = 0,
    max_ms: float = 10.0,
) -> SpanPattern:
    return SpanPattern(
        id=pattern_id,
        service=service,
        span_kind=kind,
        family=Family.GENERIC,
        operation=operation,
        matchers=(),
        hints={},
        name=name,
        stats=PatternStats(count=count, error_count=errors, max_duration_ns=int(max_ms * 1e6)),
    )


@pytest.mark.parametrize(
    ("word", "stemmed"),
    [
        ("checkouts", "checkout"),
        ("queries", "query"),
        ("probes", "probe"),
        ("redis", "redis"),  # not a plural
        ("status", "status"),
        ("address", "address"),
        ("aws", "aws"),  # too short to tell
        ("order", "order"),
    ],
)
def test_plurals_are_stemmed_and_other_words_left_alone(word: str, stemmed: str) -> None:
    assert stem(word) == stemmed


def test_a_plural_names_the_service_whose_endpoints_answer() -> None:
    patterns = [
        pattern(1, "checkout", "server", "POST /v1/checkout", "http_server_checkout_post"),
        pattern(2, "checkout", "client", "SELECT orders", "postgres_query_select_orders"),
        pattern(3, "payment", "server", "POST /v1/payments", "http_server_payment_post"),
    ]
    found = find_by_words("why are checkouts failing?", patterns, {})
    assert [p.id for p in found] == [1]


def test_words_in_the_name_weigh_more_than_words_in_the_description() -> None:
    page = pattern(1, "frontend", "server", "GET /category/:slug", "http_server_category")
    consumer = pattern(2, "mailer", "consumer", "orders process", "kafka_process_orders")
    # The consumer's description names users and pages it renders: two words, in prose.
    descriptions = {2: "renders pages for users after each order"}
    found = find_by_words(
        "why are the category pages slow for users?", [consumer, page], descriptions
    )
    assert found[0].id == 1


def test_probes_find_liveness_and_readiness_routes() -> None:
    patterns = [
        pattern(1, "payment", "server", "GET /actuator/health/liveness", "payment_liveness"),
        pattern(2, "payment", "server", "GET /actuator/health/readiness", "payment_readiness"),
        pattern(3, "payment", "server", "POST /v1/payments", "payment_post", count=5000),
    ]
    found = find_by_words("are the kubernetes probes of the payment service noise?", patterns, {})
    assert {p.id for p in found[:2]} == {1, 2}


@pytest.mark.parametrize(
    ("question", "measure"),
    [
        ("which pattern is the busiest?", Measure.COUNT),
        ("what gets the most traffic?", Measure.COUNT),
        ("which frontend endpoint fails most, and why?", Measure.ERRORS),
        ("what has the most errors?", Measure.ERRORS),
        ("what is the slowest query?", Measure.P99),
        ("which route has the worst latency?", Measure.P99),  # latency, not errors
        ("why is checkout slow?", None),
        ("how busy is @x?", None),
    ],
)
def test_questions_asking_for_the_most_of_something_are_rankings(
    question: str, measure: Measure | None
) -> None:
    assert ranking_asked(question) is measure


def no_p99(patterns: Sequence[SpanPattern]) -> Mapping[int, float]:
    raise AssertionError("counts and errors need no sketches")


def test_the_busiest_pattern_of_the_whole_system_is_ranked_by_spans() -> None:
    patterns = [
        pattern(1, "frontend", "internal", "middleware auth", "auth", count=900),
        pattern(2, "frontend", "server", "GET /products", "products", count=400),
        pattern(3, "cart", "server", "GET /cart", "cart", count=950),
    ]
    ranked = rank_by("which pattern is the busiest?", Measure.COUNT, patterns, {}, no_p99)
    assert [(r.pattern.id, r.value) for r in ranked] == [(3, 950), (1, 900), (2, 400)]


def test_an_endpoint_ranking_keeps_the_services_endpoints_only() -> None:
    patterns = [
        pattern(1, "frontend", "server", "GET /products", "products", errors=1),
        pattern(2, "frontend", "server", "POST /checkout", "checkout", errors=8),
        # More errors, but a call the frontend makes, not one of its endpoints:
        pattern(3, "frontend", "client", "POST /v1/checkout", "call_checkout", errors=13),
        pattern(4, "checkout", "server", "POST /v1/checkout", "checkout_server", errors=20),
        pattern(5, "frontend", "server", "GET /", "home"),  # no errors: not ranked
    ]
    ranked = rank_by("which frontend endpoint fails most?", Measure.ERRORS, patterns, {}, no_p99)
    assert [r.pattern.id for r in ranked] == [2, 1]


def test_the_slowest_are_ranked_by_p99_reading_few_sketches() -> None:
    patterns = [
        pattern(i, "db", "client", f"SELECT t{i}", f"query_{i}", max_ms=float(i * 100))
        for i in range(1, 201)
    ]
    p99 = {p.id: p.stats.max_duration_ns / 1e6 * 0.5 for p in patterns}
    p99[150] = 15_200.0  # above its own maximum (15 s): a sketch's error, clamped
    asked: list[int] = []

    def p99_ms(batch: Sequence[SpanPattern]) -> Mapping[int, float]:
        asked.extend(p.id for p in batch)
        return {p.id: p99[p.id] for p in batch}

    ranked = rank_by("what is the slowest query?", Measure.P99, patterns, {}, p99_ms)
    assert [r.pattern.id for r in ranked] == [150, 200, 199]
    assert ranked[0].value == 15_000.0
    assert len(asked) < len(patterns)  # maxima below the third p99 are never read


def test_topic_words_narrow_a_ranking() -> None:
    patterns = [
        pattern(1, "inventory", "client", "SELECT products", "postgres_query_products", count=10),
        pattern(2, "inventory", "client", "GET product", "redis_cache_get", count=500),
    ]
    ranked = rank_by("which postgres query is busiest?", Measure.COUNT, patterns, {}, no_p99)
    assert [r.pattern.id for r in ranked] == [1]


def test_a_kind_of_thing_finds_the_systems_of_that_kind() -> None:
    patterns = [
        pattern(1, "inventory", "client", "SELECT products", "postgres_query_products", count=10),
        pattern(2, "inventory", "client", "GET product", "redis_cache_get", count=500),
    ]
    ranked = rank_by("which database call is busiest?", Measure.COUNT, patterns, {}, no_p99)
    assert [r.pattern.id for r in ranked] == [1]
    assert terms("Postgres queries") == terms("postgres query")
