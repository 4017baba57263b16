"""A pattern's category, from its semantic-convention family and its span kind.

The family says what protocol the span speaks, the kind which side of it the service is
on. Messaging is split by what is done (``publish``, ``send`` and ``create`` hand messages
over; ``receive``, ``process``, ``deliver`` and ``settle`` take them), else by kind, since
consumers often record ``receive`` on client spans.

Generic spans (no family claimed them) are read from their name as the conventions tell
instrumentations to write it when attributes are missing: a client span named ``HTTP GET``
or ``GET /users`` is an HTTP call, one named ``SELECT shop.orders`` a query. Anything else
is ``internal``, or ``server``/``client``/messaging by its kind.
"""

from __future__ import annotations

import re

from app.classify.verdict import Category
from app.discovery.operation import Family
from app.discovery.patterns import SpanPattern

PUBLISH_OPERATIONS = frozenset({"publish", "send", "create"})
CONSUME_OPERATIONS = frozenset({"receive", "process", "deliver", "settle"})

_HTTP_NAME = re.compile(r"(?:HTTP )?(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE)(?: (/\S*))?")
"""``HTTP GET``, ``GET``, ``GET /users/{id}``: how HTTP spans are named without a route."""
_SQL_NAME = re.compile(
    r"(SELECT|INSERT|UPDATE|DELETE|MERGE|UPSERT|CALL|EXEC|BEGIN|COMMIT|ROLLBACK)(?: (\S+))?",
    re.IGNORECASE,
)
"""``SELECT``, ``SELECT shop.orders``: ``{operation} {namespace}.{table}`` of the conventions."""


def category_of(pattern: SpanPattern) -> Category:
    family, kind = pattern.family, pattern.span_kind
    if family is Family.HTTP_SERVER:
        return Category.HTTP_SERVER
    if family is Family.HTTP_CLIENT:
        return Category.HTTP_CALL
    if family is Family.DATABASE:
        return Category.DB_QUERY
    if family is Family.CACHE:
        return Category.CACHE
    if family is Family.MESSAGING:
        return _messaging(pattern.hints.get("operation", ""), kind)
    if family is Family.RPC:
        return Category.RPC_SERVER if kind == "server" else Category.RPC_CALL
    return _generic(pattern.operation, kind)


def _messaging(operation: str, kind: str) -> Category:
    word = operation.lower()
    if word in PUBLISH_OPERATIONS:
        return Category.MESSAGING_PUBLISH
    if word in CONSUME_OPERATIONS:
        return Category.MESSAGING_CONSUME
    return Category.MESSAGING_PUBLISH if kind == "producer" else Category.MESSAGING_CONSUME


def http_name(name: str) -> tuple[str, str] | None:
    """``HTTP GET`` -> (``GET``, ``""``); ``GET /users/{id}`` -> (``GET``, ``/users/{id}``)."""
    match = _HTTP_NAME.fullmatch(name)
    return (match[1], match[2] or "") if match else None


def sql_name(name: str) -> tuple[str, str] | None:
    """``SELECT shop.orders`` -> (``SELECT``, ``orders``); the table may be ``""``."""
    match = _SQL_NAME.fullmatch(name)
    if match is None:
        return None
    table = (match[2] or "").rsplit(".", 1)[-1]
    return match[1].upper(), table


def _generic(name: str, kind: str) -> Category:
    if kind in ("client", "server") and http_name(name) is not None:
        return Category.HTTP_SERVER if kind == "server" else Category.HTTP_CALL
    if kind == "client" and sql_name(name) is not None:
        return Category.DB_QUERY
    if kind == "server":
        return Category.SERVER
    if kind == "client":
        return Category.CLIENT
    if kind == "producer":
        return Category.MESSAGING_PUBLISH
    if kind == "consumer":
        return Category.MESSAGING_CONSUME
    return Category.INTERNAL
