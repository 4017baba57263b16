"""Categories from a pattern's family and span kind (and, for generic spans, its name)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.classify.category import category_of
from app.classify.verdict import Category
from app.discovery.operation import Family
from app.discovery.patterns import SpanPattern

BarePattern = Callable[..., SpanPattern]


@pytest.mark.parametrize(
    ("family", "kind", "hints", "category"),
    [
        (Family.HTTP_SERVER, "server", {}, Category.HTTP_SERVER),
        (Family.HTTP_CLIENT, "client", {}, Category.HTTP_CALL),
        (Family.HTTP_CLIENT, "internal", {}, Category.HTTP_CALL),  # the family decides
        (Family.DATABASE, "client", {}, Category.DB_QUERY),
        (Family.CACHE, "client", {}, Category.CACHE),
        (Family.RPC, "server", {}, Category.RPC_SERVER),
        (Family.RPC, "client", {}, Category.RPC_CALL),
        (Family.MESSAGING, "producer", {"operation": "publish"}, Category.MESSAGING_PUBLISH),
        (Family.MESSAGING, "client", {"operation": "send"}, Category.MESSAGING_PUBLISH),
        (Family.MESSAGING, "producer", {"operation": "create"}, Category.MESSAGING_PUBLISH),
        (Family.MESSAGING, "consumer", {"operation": "process"}, Category.MESSAGING_CONSUME),
        # consumers often record receive on client spans: the operation decides
        (Family.MESSAGING, "client", {"operation": "receive"}, Category.MESSAGING_CONSUME),
        (Family.MESSAGING, "producer", {}, Category.MESSAGING_PUBLISH),  # no operation: kind
        (Family.MESSAGING, "consumer", {}, Category.MESSAGING_CONSUME),
        (Family.GENERIC, "internal", {}, Category.INTERNAL),
        (Family.GENERIC, "unspecified", {}, Category.INTERNAL),
        (Family.GENERIC, "server", {}, Category.SERVER),
        (Family.GENERIC, "client", {}, Category.CLIENT),
        (Family.GENERIC, "producer", {}, Category.MESSAGING_PUBLISH),
        (Family.GENERIC, "consumer", {}, Category.MESSAGING_CONSUME),
    ],
)
def test_category_from_family_and_kind(
    bare_pattern: BarePattern, family: Family, kind: str, hints: dict, category: Category
) -> None:
    pattern = bare_pattern("some operation", family=family, kind=kind, hints=hints)
    assert category_of(pattern) is category


@pytest.mark.parametrize(
    ("name", "kind", "category"),
    [
        ("HTTP GET", "client", Category.HTTP_CALL),
        ("GET", "client", Category.HTTP_CALL),
        ("GET /users/{id}", "server", Category.HTTP_SERVER),
        ("HTTP POST", "internal", Category.INTERNAL),  # not a call without its kind
        ("SELECT db.table", "client", Category.DB_QUERY),
        ("select", "client", Category.DB_QUERY),
        ("SELECT db.table", "internal", Category.INTERNAL),
        ("GETTING READY", "client", Category.CLIENT),  # a word that starts like a method
        ("PaymentController.charge", "internal", Category.INTERNAL),
    ],
)
def test_generic_spans_are_read_from_their_conventional_names(
    bare_pattern: BarePattern, name: str, kind: str, category: Category
) -> None:
    assert category_of(bare_pattern(name, kind=kind)) is category
