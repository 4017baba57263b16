"""Which of a sample span's attributes a pattern card shows: those that help name it.

A card is read to name and judge a pattern, and each attribute costs tokens. Shown are
attributes that say what the work is (``template=cart.html``,
``code.namespace=com.shop.payment.PaymentController``, a consumer group) or who asks for it
(``user_agent=kube-probe``: a probe is noise). Left out are attributes the operation, the
matchers or the statistics already say, transport and connection details, and values that
are ids, numbers or dates (``app.order.id=799186``, a request id): they differ from span to
span and name nothing. Values are redacted (``app.redact``) before any of this.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from app.discovery.normalize.ids import placeholder_for
from app.redact import REDACTED, redact_attributes

SAMPLE_ATTRIBUTES = 3
VALUE_CHARS = 32

SAID_ELSEWHERE = frozenset(
    {
        "http.response.status_code",
        "http.status_code",
        "http.method",
        "http.request.method",
        "http.route",
        "http.target",
        "http.url",
        "url.full",
        "url.path",
        "url.scheme",
        "http.scheme",
        "http.flavor",
        "db.system",
        "db.system.name",
        "db.name",
        "db.namespace",
        "db.statement",
        "db.query.text",
        "db.query.summary",
        "db.operation",
        "db.operation.name",
        "db.sql.table",
        "db.collection.name",
        "messaging.system",
        "messaging.operation",
        "messaging.operation.type",
        "messaging.operation.name",
        "messaging.destination.name",
        "rpc.system",
        "rpc.service",
        "rpc.method",
        "rpc.grpc.status_code",
    }
)
"""Attributes the operation, the matchers or the statistics line already show."""

NAMES_NOTHING = (
    "server.",
    "client.",
    "network.",
    "net.",
    "thread.",
    "process.",
    "host.",
    "code.lineno",
    "code.filepath",
    "code.column",
    "url.query",  # what users typed: personal, and never the name of the work
    "http.request.header.",
    "http.response.header.",
    "http.request.body.",
    "http.response.body.",
    "http.request_content_length",
    "http.response_content_length",
    "db.user",
    "db.query.parameter.",  # the values a statement ran with: data, not the work
    "db.operation.parameter.",
    "db.connection_string",
    "db.redis.",
    "messaging.client.id",
    "messaging.client_id",
    "messaging.message.",
    "messaging.destination.partition.",
    "messaging.kafka.message.",
    "messaging.kafka.destination.partition",
    "messaging.kafka.partition",
    "messaging.kafka.offset",
)
"""Prefixes of attributes about transport, connections and single messages."""

USER_AGENTS = frozenset({"user_agent.original", "http.user_agent"})
_PRODUCT = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")
_TOKENS = re.compile(r"[^\s/:=&?#.,;()\[\]\"'-]+")


def sample_attributes(
    attributes: Mapping[str, Any],
    read: Collection[str],
    redact_names: Collection[str] = (),
    *,
    user_agent: bool = True,
) -> str:
    """Up to ``SAMPLE_ATTRIBUTES`` ``name=value`` pairs of one span, by name; "" for none.

    ``read`` are the fields the pattern's matchers read: the operation shows them.
    ``user_agent``: whether to show the user agent's product.
    """
    shown: list[str] = []
    for name, value in sorted(redact_attributes(attributes, redact_names).items()):
        if name in read or name in SAID_ELSEWHERE or name.startswith(NAMES_NOTHING):
            continue
        text = _text(value)
        if name in USER_AGENTS:
            product = _PRODUCT.match(text)
            # the product, not its version or platform: ``kube-probe``
            if product and user_agent and not _holds_an_id(product.group(0)):
                shown.append(f"user_agent={short(product.group(0))}")
            continue
        if REDACTED in text or not text or _holds_an_id(text):
            continue
        shown.append(f"{name}={short(text)}")
        if len(shown) == SAMPLE_ATTRIBUTES:
            break
    return " ".join(shown)


def short(text: str) -> str:
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def _text(value: Any) -> str:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return str(value).replace("\n", " ").strip()


def _holds_an_id(text: str) -> bool:
    """Whether a word of ``text`` is an id, a number, an email or a date.

    A long CamelCase word (``PaymentControllerWithRetries``) passes for an id in a path; in
    an attribute it is a class name, so here an id also needs a digit or an underscore.
    """
    return any(
        placeholder_for(token) and any(char.isdigit() or char == "_" for char in token)
        for token in _TOKENS.findall(text[:200])
    )
