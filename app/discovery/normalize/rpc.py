"""RPC operations: the system, the service and the method called.

``grpc inventory.v1.InventoryService/Reserve``, from ``rpc.system``, ``rpc.service`` and
``rpc.method``; JSON-RPC, which often has no service, gives ``jsonrpc eth_getBalance``. A
span with no ``rpc.method`` is read from its name, which the conventions make
``$package.$service/$method`` (some instrumentations add a leading ``/``), and matched by it.
Status codes, peers and message sizes never take part: they describe one call, not the
operation.
"""

from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType

from app.discovery.normalize.cache import attribute_text
from app.discovery.operation import Family, FieldType, Matcher, MatchType, Operation
from connectors.spans import Span, SpanKind


@lru_cache(maxsize=4096)
def parse_rpc_name(name: str) -> tuple[str, str] | None:
    """``pkg.Service/Method`` (or ``/pkg.Service/Method``) -> service and method; else None."""
    service, slash, method = name.removeprefix("/").rpartition("/")
    if not slash or not service or not method or any(c.isspace() for c in name):
        return None
    return service, method


def _hints(
    system: str, service: str | None, method: str, client: bool
) -> MappingProxyType[str, str]:
    hints = {"system": system.lower(), "method": method}
    if service:
        # A client calls the service (its peer); a server is the service.
        hints["peer" if client else "target"] = service
    return MappingProxyType(hints)


@lru_cache(maxsize=4096)
def _attribute_operation(system: str, service: str | None, method: str, client: bool) -> Operation:
    matchers = [
        Matcher(FieldType.SPAN_ATTRIBUTE, "rpc.system", MatchType.EXACT, system),
        Matcher(FieldType.SPAN_ATTRIBUTE, "rpc.method", MatchType.EXACT, method),
    ]
    if service is not None:
        matchers.insert(
            1, Matcher(FieldType.SPAN_ATTRIBUTE, "rpc.service", MatchType.EXACT, service)
        )
    return Operation(
        family=Family.RPC,
        key=f"{system} {service}/{method}" if service else f"{system} {method}",
        matchers=tuple(matchers),
        hints=_hints(system, service, method, client),
    )


@lru_cache(maxsize=4096)
def _name_operation(system: str, name: str, service: str, method: str, client: bool) -> Operation:
    # The key shows the name as carried: ``/pkg.S/M`` and ``pkg.S/M`` differ in their matcher.
    return Operation(
        family=Family.RPC,
        key=f"{system} {name}",
        matchers=(
            Matcher(FieldType.SPAN_ATTRIBUTE, "rpc.system", MatchType.EXACT, system),
            Matcher(FieldType.SPAN_FIELD, "name", MatchType.EXACT, name),
        ),
        hints=_hints(system, service, method, client),
    )


def normalize_rpc(span: Span) -> Operation | None:
    """``grpc inventory.v1.InventoryService/Reserve``; None when no method can be found."""
    attributes = span.attributes
    system = attribute_text(attributes.get("rpc.system"))
    if system is None:
        return None
    client = span.kind is SpanKind.CLIENT
    method = attribute_text(attributes.get("rpc.method"))
    if method is not None:
        service = attribute_text(attributes.get("rpc.service"))
        return _attribute_operation(system, service, method, client)
    parsed = parse_rpc_name(span.name)
    if parsed is None:
        return None
    service, method = parsed
    return _name_operation(system, span.name, service, method, client)
