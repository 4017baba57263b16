"""Operations as a card shows them: what names the work, in fewer tokens."""

from __future__ import annotations

import pytest

from app.classify.card_operation import MAX_CHARS, compact_operation, compact_statement


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
    ("operation", "compact"),
    [
        ("grpc inventory.v1.InventoryService/GetProduct", "grpc InventoryService/GetProduct"),
        (
            "GET search.shop.svc.cluster.local:8000 /v1/related/SKU-{id}",
            "GET search /v1/related/SKU-{id}",
        ),
        ("POST api.stripe.com /v1/charges", "POST api.stripe.com /v1/charges"),
        ("kafka publish orders.placed", "kafka publish orders.placed"),
    ],
)
def test_operations_lose_packages_and_cluster_domains(operation: str, compact: str) -> None:
    assert compact_operation(operation) == compact


def test_a_long_operation_is_cut_to_its_beginning() -> None:
    body = '{"query": {"more_like_this": {"fields": [?], "like": [{"_index": ?}]}}, "size": ?}'
    compact = compact_operation(f"elasticsearch search products {body}")
    assert len(compact) == MAX_CHARS and compact.endswith("…")
    assert compact.startswith('elasticsearch search products {"query": {"more_like_this"')
