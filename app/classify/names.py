"""Pattern names: snake_case, read left to right as what, with whom, doing what, to what.

The shape is ``<category>_<system or peer role>_<operation>_<object>``, where a category
that names a protocol family takes the system's name in the family's place, as people say
it (``db_query`` on PostgreSQL is ``postgres_query``, ``messaging_publish`` on Kafka is
``kafka_publish``, ``rpc_call`` over gRPC is ``grpc_call``):

======================  ==============================================================
``http_server``         ``http_server_<service>_<method>_<route words>``
``http_call``           ``http_call_<peer role>_<method>_<path words>``
``db_query``            ``<system>_query_<operation>_<table>``
``cache``               ``<system>_cache_<command>_<key prefix>``
``messaging_*``         ``<system>_<publish|send|receive|process...>_<destination>``
``rpc_server``          ``<system>_server_<service>[_<rpc service>]_<method>``
``rpc_call``            ``<system>_call_<rpc service>_<method>``
``internal``            ``internal_<service>_<span name words>``
``server``, ``client``  ``server_<service>_<span name words>``
======================  ==============================================================

For example ``http_call_stripe_post_charges``, ``postgres_query_select_orders``,
``redis_cache_get_product_sku``, ``kafka_publish_orders_placed``,
``grpc_call_inventory_get_product``, ``http_server_frontend_get_products``. Route words are
the last ``ROUTE_SEGMENTS`` meaningful segments (no placeholders, versions or ``api``).

Names are unique across a store: ``unique_names`` gives a pattern whose name is taken the
first free of its more detailed names (``proposed_names``: the whole route, the column a
query filters on), else suffixes ``_2``, ``_3``..., in a stable order, and never renames a
pattern that already has a name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from app.classify.category import CONSUME_OPERATIONS, PUBLISH_OPERATIONS
from app.classify.peers import peer_role, rpc_service_role
from app.classify.reading import Reading
from app.classify.verdict import MAX_NAME_LENGTH, Category, is_snake_case_name
from app.classify.words import (
    dedupe,
    is_version,
    path_words,
    system_word,
    trailing_placeholder,
    words,
)
from app.discovery.patterns import SpanPattern

ROUTE_SEGMENTS = 3

_TEMPLATE_EXTENSIONS = frozenset(
    {"html", "htm", "j2", "jinja", "jinja2", "tmpl", "tpl", "hbs", "ejs", "erb", "mustache"}
)
"""File extensions of templates, which internal span names often carry: no meaning left."""


def proposed_name(reading: Reading) -> str:
    """The name a pattern would get if no other pattern had it (see the module)."""
    return proposed_names(reading)[0]


def proposed_names(reading: Reading) -> list[str]:
    """The proposed name, then more detailed ones that ``unique_names`` tries before it
    numbers: the whole route (``/api/healthz`` and ``/healthz`` both give ``healthz``), the
    column a query filters on (``postgres_query_select_products_by_category_id``)."""
    parts = _parts(reading)
    fallback = reading.category.value
    names = [_joined(parts, fallback)]
    for detail in _details(reading, parts):
        name = _joined(detail, fallback)
        if name not in names:
            names.append(name)
    return names


def _parts(reading: Reading) -> list[str]:
    category = reading.category
    system = system_word(reading.system) if reading.system else ""
    service = words(reading.service)
    if category is Category.HTTP_SERVER:
        return ["http", "server", *service, *_lower(reading.verb), *_path(reading.path)]
    if category is Category.HTTP_CALL:
        role = peer_role(reading.host) if reading.host else None
        return ["http", "call", *_split(role), *_lower(reading.verb), *_path(reading.path)]
    if category is Category.DB_QUERY:
        table = reading.object_hint.rsplit(".", 1)[-1]
        return [system or "db", "query", *words(reading.verb), *words(table)]
    if category is Category.CACHE:
        return [system, "cache", *words(reading.verb), *_unversioned(reading.object_hint)]
    if category in (Category.MESSAGING_PUBLISH, Category.MESSAGING_CONSUME):
        verb = _messaging_verb(reading)
        return [system or "messaging", verb, *_unversioned(reading.object_hint)]
    if category in (Category.RPC_SERVER, Category.RPC_CALL):
        return _rpc(reading, system or "rpc", service)
    # internal, server, client: the span's own name is all there is
    own = [w for w in words(reading.text) if w not in _TEMPLATE_EXTENSIONS]
    return [category.value, *service, *own]


_WHERE = re.compile(r"\bWHERE\s+(?:NOT\s+)?\(?\s*(?:\w+\.)?(\w+)", re.IGNORECASE)
_JSON_QUERY = re.compile(r'"query"\s*:\s*\{\s*"(\w+)"')


def _details(reading: Reading, parts: list[str]) -> list[list[str]]:
    category = reading.category
    if category in (Category.HTTP_SERVER, Category.HTTP_CALL):
        # the whole route; the route and the item it ends with
        head = parts[: len(parts) - len(_path(reading.path))]
        details = [head + path_words(reading.path, segments=None, mounts=True)]
        item = trailing_placeholder(reading.path)
        if item:
            details.append([*parts, "by", *item])
        return details
    if category is Category.DB_QUERY:
        where = _WHERE.search(reading.text)
        if where:
            return [[*parts, "by", *words(where[1])]]
        query = _JSON_QUERY.search(reading.text)  # Elasticsearch: match, multi_match...
        if query:
            return [[*parts, *words(query[1])]]
    return []


def _lower(word: str) -> list[str]:
    return [word.lower()] if word else []


def _split(role: str | None) -> list[str]:
    return role.split("_") if role else []


def _path(path: str) -> list[str]:
    return path_words(path, ROUTE_SEGMENTS)


def _unversioned(text: str) -> list[str]:
    return [word for word in words(text) if not is_version(word)]


def _messaging_verb(reading: Reading) -> str:
    verb = reading.verb.lower()
    if verb in PUBLISH_OPERATIONS or verb in CONSUME_OPERATIONS:
        return verb
    return "publish" if reading.category is Category.MESSAGING_PUBLISH else "consume"


def _rpc(reading: Reading, system: str, service: list[str]) -> list[str]:
    role = _split(rpc_service_role(reading.rpc_service) if reading.rpc_service else None)
    method = words(reading.verb)
    if reading.category is Category.RPC_CALL:
        return [system, "call", *role, *method]
    # A server is named after its service; the RPC service only when it says more
    # (inventory serving grpc.health.v1.Health: grpc_server_inventory_health_check).
    extra = [] if role == service else role
    return [system, "server", *service, *extra, *method]


def _joined(parts: list[str], fallback: str) -> str:
    """Words joined by ``_`` within ``MAX_NAME_LENGTH``; ``fallback`` (a category, so a
    valid name) goes in front when they would not start a valid name on their own."""
    found = _fitted(dedupe([word for part in parts for word in part.split("_") if word]))
    name = "_".join(found)
    if len(name) < 3 or not name[0].isalpha():
        name = "_".join(_fitted(dedupe([*fallback.split("_"), *found])))
    return name


def _fitted(found: list[str]) -> list[str]:
    """Drop words from the end until the name fits."""
    found = list(found)
    while len("_".join(found)) > MAX_NAME_LENGTH:
        if len(found) == 1:
            return [found[0][:MAX_NAME_LENGTH]]
        found.pop()
    return found


def unique_names(
    proposed: Mapping[int, str | Sequence[str]],
    patterns: Mapping[int, SpanPattern],
    assigned: Mapping[int, str] | None = None,
) -> dict[int, str]:
    """Names for the patterns of ``proposed``, none twice.

    ``proposed`` maps a pattern id to its proposed name, or to candidates, most preferred
    first (``proposed_names``). ``assigned`` (pattern id -> name) are names already given,
    by an earlier run or a person: they are kept as they are and no other pattern gets
    them. Any other pattern takes its first free candidate, else the first free of
    ``<last candidate>_2``, ``_3``... Patterns choose in a fixed order, so that the same
    patterns get the same names whatever order they come in: those with fewer candidates
    first (they have less to fall back on), then by service, kind, operation key and id.
    Raises ``ValueError`` when two assigned names are the same, or when a proposed name is
    not snake_case.
    """
    assigned = assigned or {}
    taken: dict[str, int] = {}
    for pattern_id, name in assigned.items():
        if taken.setdefault(name, pattern_id) != pattern_id:
            raise ValueError(f"patterns {taken[name]} and {pattern_id} are both named {name!r}")
    names = {pattern_id: assigned[pattern_id] for pattern_id in proposed if pattern_id in assigned}

    candidates = {
        pattern_id: _candidates(proposal, pattern_id)
        for pattern_id, proposal in proposed.items()
        if pattern_id not in assigned
    }

    def order(pattern_id: int) -> tuple[int, str, str, str, int]:
        pattern = patterns.get(pattern_id)
        fewer = len(candidates[pattern_id])
        if pattern is None:
            return (fewer, "", "", "", pattern_id)
        return (fewer, pattern.service, pattern.span_kind, pattern.operation, pattern_id)

    for pattern_id in sorted(candidates, key=order):
        candidates_of = candidates[pattern_id]
        free = next((name for name in candidates_of if name not in taken), None)
        if free is None:
            base, number = candidates_of[-1], 2
            while free is None or free in taken:
                suffix = f"_{number}"
                free = base[: MAX_NAME_LENGTH - len(suffix)].rstrip("_") + suffix
                number += 1
        taken[free] = pattern_id
        names[pattern_id] = free
    return names


def _candidates(proposal: str | Sequence[str], pattern_id: int) -> list[str]:
    candidates = [proposal] if isinstance(proposal, str) else list(proposal)
    if not candidates:
        raise ValueError(f"no name proposed for pattern {pattern_id}")
    for name in candidates:
        if not is_snake_case_name(name):
            raise ValueError(f"{name!r} (pattern {pattern_id}) is not a snake_case name")
    return candidates
