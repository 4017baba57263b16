"""Pattern cards: what a classifying model reads of a pattern, in few tokens."""

from __future__ import annotations

import pytest

from app.classify.cards import compact_statement


@pytest.mark.parametrize(
    ("operation", "compact"),
    [
        (
            "postgresql SELECT id, sku, name, price_cents FROM products WHERE category_id = ? "
            "ORDER BY created_at DESC LIMIT ?",
            "postgresql SELECT … FROM products WHERE category_id = ? ORDER BY created_at DESC "
            "LIMIT ?",
        ),
        (
            "postgresql INSERT INTO orders (user_id, status, created_at) VALUES (?, ?, NOW()) "
            "RETURNING id",
            "postgresql INSERT INTO orders (…) VALUES (…) RETURNING id",
        ),
        (
            "mysql SELECT DISTINCT u.email, u.locale FROM users u JOIN orders o ON o.user_id = "
            "u.id WHERE o.id = ?",
            "mysql SELECT DISTINCT … FROM users u JOIN orders o ON o.user_id = u.id WHERE o.id = ?",
        ),
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
def test_statements_lose_their_column_lists_and_keep_what_names_them(
    operation: str, compact: str
) -> None:
    assert compact_statement(operation) == compact
