"""What a pattern's operation says, read once: the parts names and sentences are made of.

Normalizers leave ``hints`` on each pattern (``app.discovery.normalize``): ``system``,
``method``, ``operation``, ``peer``, ``target``, ``route``. Which of them a family sets, and
what they hold, differs (an RPC client's ``peer`` is the RPC service, an HTTP client's the
host; a cache's ``target`` is its key template without placeholders). ``read`` turns them,
with the operation key for what hints leave out, into one shape for every family.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.classify.category import category_of, http_name, sql_name
from app.classify.verdict import Category
from app.discovery.operation import Family
from app.discovery.patterns import SpanPattern


@dataclass(frozen=True, slots=True)
class Reading:
    category: Category
    service: str
    system: str = ""
    """As the span says it, lower case: ``postgresql``, ``redis``, ``kafka``, ``grpc``."""
    verb: str = ""
    """HTTP method, SQL operation, cache command, messaging operation or RPC method."""
    host: str = ""
    """An HTTP call's host, with its port when the key shows one."""
    path: str = ""
    """An HTTP route or templated path."""
    rpc_service: str = ""
    """``inventory.v1.InventoryService``: the service called, or served."""
    target: str = ""
    """Table, key template, destination: what the verb acts on, as the key shows it."""
    object_hint: str = ""
    """The normalizer's ``target`` hint: the same without placeholders, for names."""
    text: str = ""
    """The operation key."""


def read(pattern: SpanPattern) -> Reading:
    category = category_of(pattern)
    hints = pattern.hints
    key = pattern.operation
    base = Reading(category, pattern.service, text=key)
    family = pattern.family
    system = hints.get("system", "")
    if family is Family.HTTP_SERVER:
        return replace(base, verb=_method(hints.get("method", "")), path=_server_path(hints, key))
    if family is Family.HTTP_CLIENT:
        method, host, path = _client_parts(hints, key)
        return replace(base, verb=method, host=host, path=path)
    if family is Family.DATABASE:
        return replace(
            base,
            system=system,
            verb=hints.get("operation", ""),
            target=hints.get("target", ""),
            object_hint=hints.get("target", ""),
        )
    if family in (Family.CACHE, Family.MESSAGING):
        verb = hints.get("operation", "")
        return replace(
            base,
            system=system,
            verb=verb,
            target=_after(key, system, verb),
            object_hint=hints.get("target", ""),
        )
    if family is Family.RPC:
        service = hints.get("peer") or hints.get("target") or ""
        return replace(base, system=system, verb=hints.get("method", ""), rpc_service=service)
    return _generic(base, key)


def _method(method: str) -> str:
    """``_OTHER`` (a method the instrumentation did not know) reads as no method."""
    return "" if method == "_OTHER" else method.upper()


def _server_path(hints: dict[str, str], key: str) -> str:
    path = hints.get("route") or hints.get("target")
    if path:
        return path
    return key.split(" ", 1)[1] if " " in key else ""


def _client_parts(hints: dict[str, str], key: str) -> tuple[str, str, str]:
    """Method, host as the key shows it (``search.shop.svc.cluster.local:8000``), path."""
    parts = key.split(" ", 2)
    host = parts[1] if len(parts) == 3 else hints.get("peer", "")
    path = parts[2] if len(parts) == 3 else hints.get("target", "")
    return _method(hints.get("method", "")), host, path


def _after(key: str, *words: str) -> str:
    """The key without its leading ``words`` (system, command): the key template or
    destination. Commands are matched case-insensitively, as the key upper-cases them."""
    rest = key
    for word in words:
        if word and rest.lower().startswith(word.lower() + " "):
            rest = rest[len(word) + 1 :]
        elif word and rest.lower() == word.lower():
            rest = ""
    return rest


def _generic(base: Reading, name: str) -> Reading:
    if base.category in (Category.HTTP_SERVER, Category.HTTP_CALL):
        found = http_name(name)
        if found is not None:
            return replace(base, verb=found[0], path=found[1])
    if base.category is Category.DB_QUERY:
        found = sql_name(name)
        if found is not None:
            return replace(base, verb=found[0], target=found[1], object_hint=found[1])
    return base
