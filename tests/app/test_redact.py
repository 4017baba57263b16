"""Secrets and personal data are removed from span data; the rest stays readable."""

from __future__ import annotations

import pytest

from app.redact import REDACTED, redact_attributes, redact_text, redact_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /users/ann.lee@example.com/orders", "GET /users/[EMAIL]/orders"),
        ("Bearer sk_live_51FAKEabcdefghijklmnop", f"Bearer {REDACTED}"),
        ("key sk_test_4eC39HqLyjWDarjtT1zdp7dc in body", "key [API KEY] in body"),
        ("AKIAIOSFODNN7EXAMPLE", "[API KEY]"),
        (
            "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig_abc-123 used",
            f"token {REDACTED} used",
        ),
        ("jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2ln", "jwt=[JWT]"),
        (
            "https://admin:hunter2@db.internal:5432/shop",
            f"https://{REDACTED}@db.internal:5432/shop",
        ),
        (
            "https://api.example.com/v1/reset?email=a%40b.co&token=abc123&page=2",
            f"https://api.example.com/v1/reset?email={REDACTED}&token={REDACTED}&page=2",
        ),
        ("card 4242 4242 4242 4242 declined", "card [CARD] declined"),
        ("order 4242424242424241 shipped", "order 4242424242424241 shipped"),  # fails Luhn
        ("SELECT * FROM orders WHERE id = ?", "SELECT * FROM orders WHERE id = ?"),
        ("GET /products/{sku}", "GET /products/{sku}"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "[PRIVATE KEY]"),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("http.request.header.authorization", ["Bearer abc.def"], REDACTED),
        ("http.request.header.cookie", "sid=1", REDACTED),
        ("db.password", "x", REDACTED),
        ("client.address", "203.0.113.9", REDACTED),
        ("http.route", "/orders/{id}", "/orders/{id}"),
        ("http.response.status_code", 402, 402),
        ("app.payload", b"\x00\x01", "[2 bytes]"),
        ("url.full", ["https://x.io/?api_key=1"], [f"https://x.io/?api_key={REDACTED}"]),
    ],
)
def test_redact_value(name: str, value: object, expected: object) -> None:
    assert redact_value(name, value) == expected


def test_nested_attributes_are_redacted() -> None:
    attributes = {"app.user": {"email": "a@b.io", "password": "p"}, "ok": True}
    assert redact_attributes(attributes) == {
        "app.user": {"email": "[EMAIL]", "password": REDACTED},
        "ok": True,
    }
