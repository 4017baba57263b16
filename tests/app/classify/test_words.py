"""Words for names from span names, routes and key templates."""

from __future__ import annotations

import pytest

from app.classify.words import listing, path_words, shorten, trailing_placeholder, words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PaymentController.charge", ["payment", "controller", "charge"]),
        ("GetProduct", ["get", "product"]),
        ("HTTPServerError", ["http", "server", "error"]),
        ("middleware - auth", ["middleware", "auth"]),
        ("render template product_{id}.html", ["render", "template", "product", "html"]),
        ("/v1/related/<sku>", ["v1", "related"]),
        ("/orders/:orderId/cancel", ["orders", "cancel"]),
        ("product:SKU", ["product", "sku"]),  # a key's colon is no route parameter
        ("SELECT FOR UPDATE", ["select", "for", "update"]),
        ("{id}", []),
        ("", []),
    ],
)
def test_words(text: str, expected: list[str]) -> None:
    assert words(text) == expected


@pytest.mark.parametrize(
    ("path", "segments", "mounts", "expected"),
    [
        ("/api/v1/contactservice/contacts/{id}", 3, False, ["contactservice", "contacts"]),
        ("/v1/cart/{userId}/items", 3, False, ["cart", "items"]),
        ("/v1/related/SKU-{id}", 3, False, ["related", "sku"]),
        ("/products/:sku", 3, False, ["products"]),
        ("/static/{asset}", 3, False, ["static"]),
        ("/actuator/health/readiness", 3, False, ["actuator", "health", "readiness"]),
        ("/a/b/c/d", 3, False, ["b", "c", "d"]),  # the last segments say the most
        ("/a/b/c/d", None, False, ["a", "b", "c", "d"]),
        ("/api/healthz", 3, False, ["healthz"]),
        ("/api/healthz", 3, True, ["api", "healthz"]),
        ("/v2beta1/{id}", 3, False, []),  # nothing but a version and a placeholder
        ("/", 3, False, ["root"]),
        ("", 3, False, []),
    ],
)
def test_path_words(path: str, segments: int | None, mounts: bool, expected: list[str]) -> None:
    assert path_words(path, segments, mounts) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/cart/{userId}", ["user", "id"]),
        ("/products/:sku", ["sku"]),
        ("/v1/related/<sku>", ["sku"]),
        ("/v1/customers/{id}/", ["id"]),
        ("/v1/customers", []),
        ("/v1/related/SKU-{id}", []),  # a literal part: no placeholder alone
    ],
)
def test_trailing_placeholder(path: str, expected: list[str]) -> None:
    assert trailing_placeholder(path) == expected


@pytest.mark.parametrize(
    ("items", "more", "expected"),
    [
        ([], 0, ""),
        (["a"], 0, "a"),
        (["a", "b"], 0, "a and b"),
        (["a", "b", "c"], 0, "a, b and c"),
        (["a", "b", "c"], 2, "a, b, c and 2 more"),
    ],
)
def test_listing(items: list[str], more: int, expected: str) -> None:
    assert listing(items, more) == expected


def test_shorten_cuts_at_the_limit_with_an_ellipsis() -> None:
    assert shorten("render  template\nhome.html", 60) == "render template home.html"
    cut = shorten("x" * 100, 20)
    assert len(cut) == 20 and cut.endswith("…")
