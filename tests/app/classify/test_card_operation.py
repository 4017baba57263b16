"""Operations as a card shows them: what names the work, in fewer tokens."""

from __future__ import annotations

import pytest

from app.classify.card_operation import (
    MAX_CHARS,
    MAX_SCANNED,
    compact_operation,
    compact_statement,
)


@pytest.mark.parametrize(
    ("operation", "compact"),
    [
        (
            "postgresql SELECT id, sku, name, price_cents FROM products WHERE category_id = ? "
            "ORDER BY created_at DESC LIMIT ?",
            "postgresql SELECT … FROM products WHERE category_id = ?",
        ),
        (
            "postgresql INSERT INTO orders (user_id, status, created_at) VALUES (?, ?, NOW()) "
            "RETURNING id",
            "postgresql INSERT INTO orders (…)",
        ),
        (
            "mysql SELECT DISTINCT u.email, u.locale FROM users u JOIN orders o ON o.user_id = "
            "u.id WHERE o.id = ?",
            "mysql SELECT DISTINCT … FROM users u JOIN orders o ON o.user_id = u.id WHERE o.id = ?",
        ),
        # Parameters set are left out; the columns stay, and so does a computed value, which
        # tells reserving stock from releasing it.
        (
            "postgresql UPDATE orders SET status = ?, payment_id = ?, updated_at = NOW() "
            "WHERE id = ?",
            "postgresql UPDATE orders SET status, payment_id, updated_at WHERE id = ?",
        ),
        (
            "postgresql UPDATE inventory SET available = available - ?, reserved = reserved + ? "
            "WHERE sku = ?",
            "postgresql UPDATE inventory SET available = available - ?, reserved = reserved + ? "
            "WHERE sku = ?",
        ),
        ("postgresql SELECT * FROM jobs LIMIT ? OFFSET ?", "postgresql SELECT * FROM jobs"),
        # One column says what is read; functions keep their parentheses; no SQL, no change.
        (
            "postgresql SELECT stripe_customer_id FROM payment_customers WHERE user_id = ?",
            "postgresql SELECT stripe_customer_id FROM payment_customers WHERE user_id = ?",
        ),
        ("postgresql SELECT count(*), max(x) FROM t", "postgresql SELECT count(*), max(x) FROM t"),
        ("GET /v1/orders/{orderId}", "GET /v1/orders/{orderId}"),
        ("redis HGETALL session:{id}", "redis HGETALL session:{id}"),
    ],
)
def test_statements_keep_their_verb_tables_and_filter(operation: str, compact: str) -> None:
    assert compact_statement(operation) == compact


@pytest.mark.parametrize(
    ("statement", "compact"),
    [
        # A second FROM (IS DISTINCT FROM, a UNION's SELECT) ends no column list early.
        (
            "SELECT a.id FROM accounts a, ledgers l WHERE a.owner IS DISTINCT FROM l.owner",
            "SELECT a.id FROM accounts a, ledgers l WHERE a.owner IS DISTINCT FROM l.owner",
        ),
        (
            "SELECT id, name FROM users UNION SELECT id, name FROM roles",
            "SELECT … FROM users UNION SELECT … FROM roles",
        ),
        # Only the outer query loses its ordering: a CTE's LIMIT says what it feeds on.
        (
            "WITH recent AS (SELECT * FROM orders ORDER BY created_at DESC LIMIT ?) "
            "SELECT r.id FROM recent r JOIN users u ON u.id = r.user_id ORDER BY r.id",
            "WITH recent AS (SELECT * FROM orders ORDER BY created_at DESC LIMIT ?) "
            "SELECT r.id FROM recent r JOIN users u ON u.id = r.user_id",
        ),
    ],
)
def test_a_statement_is_shortened_only_where_it_says_nothing(statement: str, compact: str) -> None:
    assert compact_statement(statement) == compact


def test_span_names_that_read_like_sql_are_left_as_they_are() -> None:
    assert compact_operation("rate limit exceeded") == "rate limit exceeded"
    assert compact_operation("kafka offset commit") == "kafka offset commit"
    assert compact_operation("rate limit exceeded", statement=True) == "rate"


@pytest.mark.parametrize(
    ("operation", "compact"),
    [
        # The package keeps its version: v1 and v2 are different patterns.
        (
            "grpc inventory.v1.InventoryService/GetProduct",
            "grpc inventory.v1.InventoryService/GetProduct",
        ),
        (
            "GET search.shop.svc.cluster.local:8000 /v1/related/SKU-{id}",
            "GET search.shop /v1/related/SKU-{id}",
        ),
        ("GET search.svc.cluster.local /v1/search", "GET search /v1/search"),
        ("auth   check\nfor\tuser", "auth check for user"),
        ("POST api.stripe.com /v1/charges", "POST api.stripe.com /v1/charges"),
        ("kafka publish orders.placed", "kafka publish orders.placed"),
    ],
)
def test_operations_lose_cluster_domains_and_line_breaks(operation: str, compact: str) -> None:
    assert compact_operation(operation) == compact


def test_a_long_operation_keeps_its_beginning_and_its_end() -> None:
    route = "GET /api/v1/organizations/{id}/projects/{id}/environments/{id}/deployments/{id}"
    logs, events = compact_operation(route + "/logs"), compact_operation(route + "/events")
    assert len(logs) == len(events) == MAX_CHARS and "…" in logs
    assert logs.startswith("GET /api/v1/organizations/{id}/projects")
    assert logs.endswith("/logs") and events.endswith("/events")


def test_an_operation_is_redacted_before_it_is_cut() -> None:
    token = "abcdefghijklmnop"
    compact = compact_operation("auth " + "x" * 61 + f" bearer {token}")
    assert "abcde" not in compact


def test_only_the_first_characters_of_an_operation_are_read() -> None:
    # What the expressions read is bounded, so their time is too, whatever a span holds.
    hostile = "postgresql SELECT " + ", ".join(["a"] * 5000)
    assert compact_operation(hostile, statement=True) == compact_operation(
        hostile[:MAX_SCANNED], statement=True
    )
