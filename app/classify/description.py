"""A pattern in one or two sentences: who does what, for whom, and how it fares.

``checkout calls POST api.stripe.com/v1/charges for PaymentController.charge. About 980
calls/h, p95 761 ms, 13% errors, mostly 502.`` The first sentence comes from the pattern's
reading and its neighbours in the pattern graph: the services that call a server, the
operations a client call is made for, the operations a server or internal step calls in
turn (the busiest ``MAX_LISTED`` of each, by call count). The second gives the numbers as
``app.classify.figures`` rounds them. When the whole would pass ``MAX_TEXT_LENGTH``, fewer
neighbours are named.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from app.classify.figures import duration_text, outcome_text, rate_text
from app.classify.peers import is_cluster_host, peer_role
from app.classify.reading import Reading, read
from app.classify.verdict import MAX_TEXT_LENGTH, Category
from app.classify.words import listing, shorten, system_display
from app.discovery.operation import Family
from app.discovery.patterns import SpanPattern

MAX_LISTED = 3
WHAT_LENGTH = 60
"""Longest operation text quoted in a sentence; longer ones are cut with an ellipsis."""

SERVING = frozenset({Category.HTTP_SERVER, Category.RPC_SERVER, Category.SERVER})
CALLING = frozenset(
    {Category.HTTP_CALL, Category.RPC_CALL, Category.CLIENT, Category.DB_QUERY, Category.CACHE}
)

UNITS = {
    Category.HTTP_SERVER: "requests",
    Category.RPC_SERVER: "requests",
    Category.SERVER: "requests",
    Category.HTTP_CALL: "calls",
    Category.RPC_CALL: "calls",
    Category.CLIENT: "calls",
    Category.DB_QUERY: "queries",
    Category.CACHE: "commands",
    Category.MESSAGING_PUBLISH: "messages",
    Category.MESSAGING_CONSUME: "messages",
    Category.INTERNAL: "runs",
}
"""What the rate counts, by category."""

_CONSUMER_VERBS = {"process": "processes", "receive": "receives", "settle": "settles"}


def what(reading: Reading) -> str:
    """A pattern's operation as a short noun phrase, to name it among others:
    ``GET /products/:sku``, ``POST api.stripe.com/v1/charges``, ``search's GET /v1/search``,
    ``PostgreSQL SELECT on orders``, ``Redis GET product:SKU-{id}``,
    ``InventoryService/GetProduct over gRPC``, ``orders.placed messages (Kafka)``."""
    category = reading.category
    system = system_display(reading.system)
    if category is Category.HTTP_SERVER:
        text = f"{reading.verb} {reading.path}".strip()
    elif category is Category.HTTP_CALL:
        text = _http_call(reading)
    elif category is Category.DB_QUERY:
        verb = reading.verb or "query"
        on = f" on {reading.target}" if reading.target else ""
        text = f"{system or 'database'} {verb}{on}"
    elif category is Category.CACHE:
        text = " ".join(part for part in (system, reading.verb, reading.target) if part)
    elif category is Category.MESSAGING_PUBLISH:
        text = f"{system} publish to {reading.target or 'a destination'}".strip()
    elif category is Category.MESSAGING_CONSUME:
        text = f"{reading.target or 'incoming'} messages ({system or 'messaging'})"
    elif category in (Category.RPC_SERVER, Category.RPC_CALL):
        service = reading.rpc_service.rsplit(".", 1)[-1]
        method = f"{service}/{reading.verb}" if service else reading.verb
        text = f"{method} over {system}" if system else method
    else:
        text = reading.text
    return shorten(text or reading.text, WHAT_LENGTH)


def _http_call(reading: Reading) -> str:
    """In-cluster peers by their role (``search's GET /v1/search``), others by host."""
    if not reading.host:  # a generic span named HTTP GET, or no hints at all
        return reading.text or f"{reading.verb} {reading.path}".strip()
    role = peer_role(reading.host)
    if role is not None and is_cluster_host(reading.host):
        return f"{role}'s {reading.verb} {reading.path}".strip()
    return f"{reading.verb} {reading.host}{reading.path}".strip()


def describe(
    pattern: SpanPattern,
    reading: Reading,
    graph: Mapping[int, SpanPattern],
    limit: int = MAX_TEXT_LENGTH,
) -> str:
    """One or two sentences, at most ``limit`` characters."""
    figures = _figures(pattern, reading)
    for listed in (MAX_LISTED, 2, 1, 0):
        text = f"{_subject(pattern, reading, graph, listed)}. {figures}"
        if len(text) <= limit:
            return text
    room = limit - len(figures) - 2
    return f"{shorten(_subject(pattern, reading, graph, 0), room)}. {figures}"


MIN_FACTS_LENGTH = 120
"""Room the facts need after a purpose; with less, the purpose stands alone."""


def with_facts(purpose: str, pattern: SpanPattern, graph: Mapping[int, SpanPattern]) -> str:
    """A model's words on what a pattern is for, then the facts Spanwise knows of it.

    ``Charges the customer's card. checkout calls POST api.stripe.com/v1/charges for
    PaymentController.charge. About 980 calls/h, p95 761 ms, 13% errors, mostly 502.``
    Who calls what and the numbers are computed, so a model is not paid to restate them.
    """
    text = " ".join(purpose.split()).rstrip(".")
    text = f"{text[:1].upper()}{text[1:]}."
    room = MAX_TEXT_LENGTH - len(text) - 1
    if room < MIN_FACTS_LENGTH:
        return shorten(text, MAX_TEXT_LENGTH)
    return f"{text} {describe(pattern, read(pattern), graph, room)}"


def _figures(pattern: SpanPattern, reading: Reading) -> str:
    stats = pattern.stats
    rate = rate_text(stats, UNITS.get(reading.category, "spans"))
    outcome = outcome_text(
        stats,
        rpc=pattern.family is Family.RPC,
        server=reading.category in SERVING or reading.category is Category.MESSAGING_CONSUME,
    )
    return f"{rate[0].upper()}{rate[1:]}, p95 {duration_text(stats.quantile_ms(0.95))}, {outcome}."


def _subject(
    pattern: SpanPattern, reading: Reading, graph: Mapping[int, SpanPattern], listed: int
) -> str:
    category = reading.category
    service = pattern.service
    parents = _neighbours(pattern.parents, graph)
    children = _neighbours(pattern.children, graph)
    if category in SERVING:
        callers = _services(parents, service)
        text = f"{service} serves {what(reading)}"
        text += f" for {_listed(callers, listed)}" if callers else " to untraced clients"
    elif category is Category.MESSAGING_CONSUME:
        verb = _CONSUMER_VERBS.get(reading.verb.lower(), "consumes")
        system = f" on {system_display(reading.system)}" if reading.system else ""
        text = f"{service} {verb} messages from {reading.target or 'its broker'}{system}"
        publishers = _services(parents, service)
        if publishers and listed:
            text += f", published by {_listed(publishers, listed)}"
    else:
        text = f"{service} {_action(reading)}"
        if parents and listed:
            text += f" for {_listed([_owned(p, service) for p in parents], listed)}"
    if category is Category.MESSAGING_PUBLISH:
        consumers = _services(children, service)
        if consumers and listed:
            text += f", consumed by {_listed(consumers, listed)}"
    elif category not in CALLING and children and listed:
        text += f", calling {_listed([_owned(c, service) for c in children], listed)}"
    return text


def _action(reading: Reading) -> str:
    """What the service does, as the verb phrase after its name."""
    category = reading.category
    system = system_display(reading.system)
    if category is Category.DB_QUERY:
        if not reading.verb and not reading.target:
            return f"queries {system or 'a database'}"
        verb = reading.verb or "a query"
        on = f" on {reading.target}" if reading.target else ""
        return f"runs {verb}{on}" + (f" in {system}" if system else "")
    if category is Category.CACHE:
        command = " ".join(part for part in (reading.verb, reading.target) if part)
        return f"sends {command or 'a command'} to {system or 'a cache'}"
    if category is Category.MESSAGING_PUBLISH:
        on = f" on {system}" if system else ""
        return f"publishes to {reading.target or 'a destination'}{on}"
    if category in (Category.HTTP_CALL, Category.RPC_CALL, Category.CLIENT):
        return f"calls {what(reading)}"
    return f"runs {what(reading)}"


def _neighbours(ids: Counter[int], graph: Mapping[int, SpanPattern]) -> list[SpanPattern]:
    """The neighbours found in ``graph``, busiest edge first (then by id)."""
    ranked = sorted(ids.items(), key=lambda item: (-item[1], item[0]))
    return [graph[pattern_id] for pattern_id, _ in ranked if pattern_id in graph]


def _services(patterns: list[SpanPattern], own: str) -> list[str]:
    """Services of ``patterns`` in order of first appearance; the own service last."""
    found = list(dict.fromkeys(p.service for p in patterns))
    return [s for s in found if s != own] + [s for s in found if s == own]


def _owned(pattern: SpanPattern, service: str) -> str:
    text = what(read(pattern))
    return text if pattern.service == service else f"{pattern.service}'s {text}"


def _listed(items: list[str], limit: int) -> str:
    """The first ``limit`` (at least one) of ``items`` said once each, and how many more.

    Two patterns can read the same (two statements of one SELECT on one table)."""
    distinct = list(dict.fromkeys(items))
    shown = distinct[: max(limit, 1)]
    return listing(shown, len(distinct) - len(shown))
