"""Pattern names: the convention, and uniqueness that never renames a named pattern."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from app.classify.names import proposed_name, proposed_names, unique_names
from app.classify.offline import classify_all_offline
from app.classify.reading import read
from app.classify.verdict import is_snake_case_name
from app.discovery.operation import Family
from app.discovery.patterns import SpanPattern
from connectors.spans import Span, SpanKind

BarePattern = Callable[..., SpanPattern]

CLIENT, SERVER, INTERNAL = SpanKind.CLIENT, SpanKind.SERVER, SpanKind.INTERNAL


@pytest.mark.parametrize(
    ("service", "kind", "name", "attributes", "expected"),
    [
        (
            "payment",
            CLIENT,
            "POST",
            {"http.request.method": "POST", "url.full": "https://api.stripe.com/v1/charges"},
            "http_call_stripe_post_charges",
        ),
        (
            "checkout",
            CLIENT,
            "GET",
            {
                "http.request.method": "GET",
                "url.full": "http://cart.shop.svc.cluster.local:8080/v1/cart/4821",
            },
            "http_call_cart_get_cart",  # the peer and the route's noun: said once
        ),
        (
            "checkout",
            CLIENT,
            "sql.conn.query",
            {"db.system": "postgresql", "db.statement": "SELECT id FROM orders WHERE id = 42"},
            "postgres_query_select_orders",
        ),
        (
            "inventory",
            CLIENT,
            "SELECT",
            {
                "db.system": "postgresql",
                "db.statement": "SELECT sku FROM inventory WHERE sku = 'a' FOR UPDATE",
            },
            "postgres_query_select_for_update_inventory",
        ),
        (
            "orders",
            CLIENT,
            "find",
            {
                "db.system": "mongodb",
                "db.operation": "find",
                "db.mongodb.collection": "shop.orders",
            },
            "mongodb_query_find_orders",
        ),
        (
            "inventory",
            CLIENT,
            "GET",
            {"db.system": "redis", "db.statement": "GET product:SKU-01401"},
            "redis_cache_get_product_sku",
        ),
        (
            "checkout",
            SpanKind.PRODUCER,
            "order.created publish",
            {
                "messaging.system": "kafka",
                "messaging.destination.name": "order.created",
                "messaging.operation.type": "publish",
            },
            "kafka_publish_order_created",
        ),
        (
            "notification",
            SpanKind.CONSUMER,
            "orders.v2.placed process",
            {
                "messaging.system": "kafka",
                "messaging.destination.name": "orders.v2.placed",
                "messaging.operation": "process",
            },
            "kafka_process_orders_placed",  # versions are no part of a name
        ),
        (
            "frontend",
            CLIENT,
            "inventory.v1.InventoryService/GetProduct",
            {
                "rpc.system": "grpc",
                "rpc.service": "inventory.v1.InventoryService",
                "rpc.method": "GetProduct",
            },
            "grpc_call_inventory_get_product",
        ),
        (
            "inventory",
            SERVER,
            "grpc.health.v1.Health/Check",
            {"rpc.system": "grpc", "rpc.service": "grpc.health.v1.Health", "rpc.method": "Check"},
            "grpc_server_inventory_health_check",
        ),
        (
            "contacts",
            SERVER,
            "GET /api/v1/contactservice/contacts/{id}",
            {"http.request.method": "GET", "http.route": "/api/v1/contactservice/contacts/{id}"},
            "http_server_contacts_get_contactservice_contacts",
        ),
        (
            "frontend",
            SERVER,
            "GET /",
            {"http.request.method": "GET", "http.route": "/"},
            "http_server_frontend_get_root",
        ),
        ("payment", INTERNAL, "PaymentController.charge", {}, "internal_payment_controller_charge"),
        (
            "frontend",
            INTERNAL,
            "render template product_8841.html",
            {},
            "internal_frontend_render_template_product",  # ids and template extensions go
        ),
        ("checkout", INTERNAL, "process order 5512", {}, "internal_checkout_process_order"),
        # generic spans with only a conventional name
        ("frontend", CLIENT, "HTTP GET", {}, "http_call_get"),
        ("frontend", CLIENT, "SELECT db.table", {}, "db_query_select_table"),
        (
            "frontend",
            SERVER,
            "GET /api/v1/contactservice/contacts/{id}",
            {},
            "http_server_frontend_get_contactservice_contacts",
        ),
    ],
)
def test_proposed_names_follow_the_convention(
    pattern_of: Callable[..., SpanPattern],
    service: str,
    kind: SpanKind,
    name: str,
    attributes: dict[str, Any],
    expected: str,
) -> None:
    pattern = pattern_of(name, kind=kind, service=service, attributes=attributes)
    assert proposed_name(read(pattern)) == expected


@pytest.mark.parametrize(
    ("operation", "family", "kind", "hints", "expected"),
    [
        # no hints at all: the category and what little the key says
        ("", Family.HTTP_CLIENT, "client", {}, "http_call"),
        ("", Family.HTTP_SERVER, "server", {}, "http_server_checkout"),
        ("", Family.DATABASE, "client", {}, "db_query"),
        ("", Family.CACHE, "client", {}, "cache"),
        ("", Family.MESSAGING, "consumer", {}, "messaging_consume"),
        ("", Family.RPC, "client", {}, "rpc_call"),
        ("", Family.GENERIC, "internal", {}, "internal_checkout"),
        ("{id}", Family.GENERIC, "internal", {}, "internal_checkout"),
        ("x" * 200, Family.GENERIC, "internal", {}, "internal_checkout"),  # one too-long word
        ("step " * 40, Family.GENERIC, "internal", {}, "internal_checkout_step"),
        ("42 steps", Family.GENERIC, "server", {}, "server_checkout_42_steps"),
    ],
)
def test_names_are_valid_even_with_nothing_to_go_on(
    bare_pattern: BarePattern,
    operation: str,
    family: Family,
    kind: str,
    hints: dict[str, str],
    expected: str,
) -> None:
    name = proposed_name(read(bare_pattern(operation, family=family, kind=kind, hints=hints)))
    assert is_snake_case_name(name)
    assert name == expected


def test_long_names_are_cut_at_a_word_within_80_characters(bare_pattern: BarePattern) -> None:
    operation = " ".join(f"step{number}" for number in range(40))
    name = proposed_name(read(bare_pattern(operation)))
    assert is_snake_case_name(name)
    assert len(name) <= 80 and len(name) > 70
    assert name.startswith("internal_checkout_step0_step1_") and not name.endswith("_")


def test_more_detailed_names_come_from_the_route_and_the_filtered_column(
    pattern_of: Callable[..., SpanPattern],
) -> None:
    select = pattern_of(
        "SELECT",
        kind=CLIENT,
        attributes={
            "db.system": "postgresql",
            "db.statement": "SELECT id FROM products WHERE category_id = 7 ORDER BY id",
        },
    )
    assert proposed_names(read(select)) == [
        "postgres_query_select_products",
        "postgres_query_select_products_by_category_id",
    ]
    route = pattern_of(
        "GET",
        kind=SERVER,
        attributes={"http.request.method": "GET", "http.route": "/api/v1/customers/{customerId}"},
    )
    assert proposed_names(read(route)) == [
        "http_server_checkout_get_customers",
        "http_server_checkout_get_api_customers",
        "http_server_checkout_get_customers_by_customer_id",
    ]


def patterns(bare_pattern: BarePattern, count: int) -> dict[int, SpanPattern]:
    return {i: bare_pattern(f"operation {chr(ord('a') + i)}", pattern_id=i) for i in range(count)}


def test_taken_names_get_numbered_in_the_order_of_service_and_operation(
    bare_pattern: BarePattern,
) -> None:
    graph = patterns(bare_pattern, 4)
    proposed = {3: "redis_cache_get_cart", 1: "redis_cache_get_cart", 0: "kafka_publish", 2: "x_y"}
    for order in itertools.permutations(proposed):
        names = unique_names({i: proposed[i] for i in order}, graph)
        assert names == {
            0: "kafka_publish",
            1: "redis_cache_get_cart",  # operation b before d
            2: "x_y",
            3: "redis_cache_get_cart_2",
        }


def test_assigned_names_never_change_and_are_never_given_again(
    bare_pattern: BarePattern,
) -> None:
    graph = patterns(bare_pattern, 4)
    assigned = {2: "redis_cache_get_cart", 3: "something_a_person_chose"}
    proposed = {0: "redis_cache_get_cart", 1: "redis_cache_get_cart", 2: "new_idea", 3: "x_y_z"}
    assert unique_names(proposed, graph, assigned) == {
        0: "redis_cache_get_cart_2",
        1: "redis_cache_get_cart_3",
        2: "redis_cache_get_cart",
        3: "something_a_person_chose",
    }


def test_candidates_are_tried_in_turn_before_numbering(bare_pattern: BarePattern) -> None:
    graph = patterns(bare_pattern, 4)
    proposed: dict[int, str | list[str]] = {
        0: ["postgres_query_select_products", "postgres_query_select_products_by_id"],
        1: ["postgres_query_select_products", "postgres_query_select_products_by_id"],
        2: ["postgres_query_select_products", "postgres_query_select_products_by_id"],
        3: "postgres_query_select_products",  # no alternative: it chooses first
    }
    assert unique_names(proposed, graph) == {
        0: "postgres_query_select_products_by_id",
        1: "postgres_query_select_products_by_id_2",  # the most detailed, numbered
        2: "postgres_query_select_products_by_id_3",
        3: "postgres_query_select_products",
    }


def test_a_numbered_name_stays_within_80_characters(bare_pattern: BarePattern) -> None:
    long = "a" * 79 + "b"
    names = unique_names({0: long, 1: long}, patterns(bare_pattern, 2))
    assert names == {0: long, 1: "a" * 78 + "_2"}


@pytest.mark.parametrize(
    ("proposed", "assigned"),
    [
        ({0: "Not_Snake"}, {}),
        ({0: []}, {}),  # no candidate
        ({0: "ok_name"}, {1: "same_name", 2: "same_name"}),  # assigned twice
    ],
)
def test_bad_input_is_refused(
    bare_pattern: BarePattern, proposed: dict, assigned: dict[int, str]
) -> None:
    with pytest.raises(ValueError):
        unique_names(proposed, patterns(bare_pattern, 3), assigned)


def test_classifying_more_patterns_later_keeps_the_names_given_earlier(
    cluster: Callable[[list[Span]], list[SpanPattern]], make_span: Callable[..., Span]
) -> None:
    def cart_call(span_id: int, service: str, path: str) -> Span:
        return make_span(
            "GET",
            kind=CLIENT,
            service=service,
            span_id=span_id,
            attributes={"http.request.method": "GET", "url.full": f"http://cart:8080{path}"},
        )

    first = cluster([cart_call(1, "frontend", "/v1/cart/1")])
    earlier = {i: c.name for i, c in classify_all_offline(first).items()}
    assert earlier == {0: "http_call_cart_get_cart"}
    # checkout sorts before frontend and would have won the name in one run; it does not
    later = cluster(
        [cart_call(1, "frontend", "/v1/cart/1"), cart_call(2, "checkout", "/v1/cart/2")]
    )
    names = {i: c.name for i, c in classify_all_offline(later, assigned=earlier).items()}
    assert names == {0: "http_call_cart_get_cart", 1: "http_call_cart_get_cart_by_id"}
    fresh = {i: c.name for i, c in classify_all_offline(later).items()}
    assert fresh == {0: "http_call_cart_get_cart_by_id", 1: "http_call_cart_get_cart"}
