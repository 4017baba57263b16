"""Descriptions: who does what for whom, with the pattern's numbers, in at most 400 characters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.classify.description import with_facts
from app.classify.figures import duration_text
from app.classify.offline import classify_all_offline, classify_offline
from app.classify.verdict import MAX_TEXT_LENGTH, Source
from app.discovery.operation import Family
from app.discovery.patterns import SpanPattern
from connectors.spans import Span, SpanKind

CLIENT, SERVER, INTERNAL = SpanKind.CLIENT, SpanKind.SERVER, SpanKind.INTERNAL
Cluster = Callable[[list[Span]], list[SpanPattern]]


def by_operation(patterns: list[SpanPattern]) -> dict[str, SpanPattern]:
    return {p.operation: p for p in patterns}


def test_a_client_call_names_its_caller_target_and_numbers(
    make_span: Callable[..., Span], cluster: Cluster
) -> None:
    spans: list[Span] = []
    for number in range(100):  # one charge every 36 s for an hour, 3 declined
        parent = 2 * number + 1
        start = number * 36_000.0
        spans.append(
            make_span("PaymentController.charge", service="payment", span_id=parent, start_ms=start)
        )
        spans.append(
            make_span(
                "POST",
                kind=CLIENT,
                service="payment",
                span_id=parent + 1,
                parent=parent,
                start_ms=start,
                duration_ms=400.0,
                error=number < 3,
                attributes={
                    "http.request.method": "POST",
                    "url.full": "https://api.stripe.com/v1/charges",
                    "http.response.status_code": 402 if number < 3 else 200,
                },
            )
        )
    patterns = by_operation(cluster(spans))
    charge = patterns["POST api.stripe.com /v1/charges"]
    p95 = duration_text(charge.stats.quantile_ms(0.95))
    assert p95 in ("398 ms", "399 ms", "400 ms", "401 ms", "402 ms")  # within the sketch's 1%
    description = classify_offline(charge, {p.id: p for p in patterns.values()}).description
    assert description == (
        "payment calls POST api.stripe.com/v1/charges for PaymentController.charge. "
        f"About 100 calls/h, p95 {p95}, 3.0% errors, mostly 402."
    )
    # A model says what the call is for; the facts follow it, computed, not restated.
    graph = {p.id: p for p in patterns.values()}
    assert with_facts("charges the customer's card for an order", charge, graph) == (
        f"Charges the customer's card for an order. {description}"
    )
    long_purpose = "word " * 70
    assert with_facts(long_purpose, charge, graph).startswith("Word word")
    assert len(with_facts(long_purpose, charge, graph)) <= MAX_TEXT_LENGTH
    assert len(with_facts("x" * 200, charge, graph)) <= MAX_TEXT_LENGTH


def test_a_server_names_its_callers_and_what_it_calls(
    make_span: Callable[..., Span], cluster: Cluster
) -> None:
    def call(span_id: int, service: str) -> Span:
        attributes = {"http.request.method": "GET", "url.full": "http://cart:8080/v1/cart/7"}
        return make_span(
            "GET", kind=CLIENT, service=service, span_id=span_id, attributes=attributes
        )

    served = {"http.request.method": "GET", "http.route": "/v1/cart/{userId}"}
    redis = {"db.system": "redis", "db.statement": "HGETALL cart:user:7"}
    spans = [
        call(1, "frontend"),
        make_span("GET", kind=SERVER, service="cart", span_id=2, parent=1, attributes=served),
        make_span("HGETALL", kind=CLIENT, service="cart", span_id=3, parent=2, attributes=redis),
        call(4, "checkout"),
        make_span("GET", kind=SERVER, service="cart", span_id=5, parent=4, attributes=served),
        call(6, "checkout"),
        make_span("GET", kind=SERVER, service="cart", span_id=7, parent=6, attributes=served),
    ]
    patterns = cluster(spans)
    graph = {p.id: p for p in patterns}
    server = by_operation(patterns)["GET /v1/cart/{userId}"]
    description = classify_offline(server, graph).description
    assert description.startswith(
        "cart serves GET /v1/cart/{userId} for checkout and frontend, "
        "calling Redis HGETALL cart:user:{id}. Seen 3 times in "  # no rate from 3 spans
    )
    caller = next(p for p in patterns if p.service == "frontend")
    assert classify_offline(caller, graph).description.startswith(
        "frontend calls cart's GET /v1/cart/{id}. "  # in-cluster peers by role; no parent
    )


@pytest.mark.parametrize(
    ("kind", "attributes", "name", "start"),
    [
        (SERVER, {"http.request.method": "GET", "http.route": "/"}, "GET", "checkout serves GET /"),
        (
            CLIENT,
            {"db.system": "postgresql", "db.statement": "SELECT a FROM orders WHERE id = 1"},
            "q",
            "checkout runs SELECT on orders in PostgreSQL.",
        ),
        (
            CLIENT,
            {"db.system": "postgresql", "db.statement": "COMMIT"},
            "q",
            "checkout runs COMMIT in PostgreSQL.",
        ),
        (
            SpanKind.PRODUCER,
            {"messaging.system": "kafka", "messaging.destination.name": "orders.placed"},
            "send",
            "checkout publishes to orders.placed on Kafka.",
        ),
        (
            SpanKind.CONSUMER,
            {"messaging.system": "rabbitmq", "messaging.destination.name": "emails"},
            "recv",
            "checkout processes messages from emails on RabbitMQ.",
        ),
        (
            CLIENT,
            {"rpc.system": "grpc", "rpc.service": "shop.v1.CartService", "rpc.method": "Get"},
            "rpc",
            "checkout calls CartService/Get over gRPC.",
        ),
        (CLIENT, {}, "HTTP GET", "checkout calls HTTP GET."),
        (CLIENT, {}, "SELECT db.table", "checkout runs SELECT on table."),
        (INTERNAL, {}, "process order 5512", "checkout runs process order {id}."),
    ],
)
def test_first_sentences_by_category(
    pattern_of: Callable[..., SpanPattern],
    kind: SpanKind,
    attributes: dict[str, Any],
    name: str,
    start: str,
) -> None:
    pattern = pattern_of(name, kind=kind, attributes=attributes)
    description = classify_offline(pattern, {pattern.id: pattern}).description
    assert description.startswith(start)
    assert description.endswith("Seen once, p95 1 ms, no errors.")


@pytest.mark.parametrize(
    "family",
    [Family.HTTP_SERVER, Family.HTTP_CLIENT, Family.DATABASE, Family.CACHE, Family.RPC],
)
@pytest.mark.parametrize("kind", ["server", "client", "producer", "consumer", "internal"])
def test_a_pattern_with_no_hints_and_no_spans_still_classifies(
    bare_pattern: Callable[..., SpanPattern], family: Family, kind: str
) -> None:
    pattern = bare_pattern("", family=family, kind=kind)
    classification = classify_offline(pattern, {})
    assert classification.source is Source.OFFLINE
    assert classification.description.startswith("checkout ")
    assert classification.description.endswith("Not seen yet, p95 0.00 ms, no errors.")


def test_descriptions_of_busy_patterns_stay_within_400_characters(
    make_span: Callable[..., Span], cluster: Cluster
) -> None:
    long_route = "/v1/" + "/".join(f"segment{n}" for n in range(30))
    spans = [
        make_span(
            "GET",
            kind=SERVER,
            service="gateway-with-a-rather-long-service-name",
            span_id=1,
            attributes={"http.request.method": "GET", "http.route": long_route},
        )
    ]
    for number in range(40):  # forty internal steps with long names below it
        spans.append(
            make_span(
                f"step {''.join(chr(97 + int(d)) for d in str(number))} "
                + "with a long explanatory name " * 4,
                service="gateway-with-a-rather-long-service-name",
                span_id=number + 2,
                parent=1,
            )
        )
    classifications = classify_all_offline(cluster(spans))
    assert all(len(c.description) <= MAX_TEXT_LENGTH for c in classifications.values())
    root = classifications[0].description
    assert "…" in root and "calling" in root and "more" in root


def test_neighbours_that_read_the_same_are_named_once(
    make_span: Callable[..., Span], cluster: Cluster
) -> None:
    served = {"http.request.method": "GET", "http.route": "/v1/cart/{userId}"}
    spans = [make_span("GET", kind=SERVER, service="cart", span_id=1, attributes=served)]
    for span_id, where in ((2, "id = 1"), (3, "id IN (1, 2)")):  # two statements, one table
        statement = f"SELECT id, sku FROM products WHERE {where}"
        attributes = {"db.system": "postgresql", "db.statement": statement}
        spans.append(
            make_span(
                "q", kind=CLIENT, service="cart", span_id=span_id, parent=1, attributes=attributes
            )
        )
    patterns = cluster(spans)
    assert len(patterns) == 3
    description = classify_offline(patterns[0], {p.id: p for p in patterns}).description
    assert description.startswith(
        "cart serves GET /v1/cart/{userId} to untraced clients, "
        "calling PostgreSQL SELECT on products. "
    )
