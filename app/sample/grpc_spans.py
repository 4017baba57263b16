"""gRPC spans: calls to the inventory service and the server spans that answer them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.sample import topology as tp
from app.sample.topology import Instance, Operation
from app.sample.trace_builder import NS_PER_MS, Trace, close
from connectors.spans import Span

GRPC_CODES = {
    0: "OK",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    9: "FAILED_PRECONDITION",
    13: "INTERNAL",
    14: "UNAVAILABLE",
}
_GRPC_SERVER_ERRORS = frozenset((2, 4, 12, 13, 14, 15))
_GRPC_SERVICE = "inventory.v1.InventoryService"

GrpcHandler = Callable[..., tuple[int, int, str, Any]]
"""A gRPC server: ``(trace, client span, start, caller, *args) -> (end, code, message, x)``."""


def call_inventory(
    t: Trace,
    op: Operation,
    caller: Instance,
    parent: Span,
    start: int,
    method: str,
    handler: GrpcHandler,
    *args: Any,
) -> tuple[int, int, Any]:
    """A gRPC call to inventory; a few never reach a server (refused, or past the deadline)."""
    host = tp.cluster_host("inventory")
    attributes: dict[str, Any] = {
        "rpc.system": "grpc",
        "rpc.service": _GRPC_SERVICE,
        "rpc.method": method,
    }
    if caller.spec.legacy_semconv:
        attributes["net.peer.name"] = host
        attributes["net.peer.port"] = 50051
    else:
        attributes["server.address"] = host
        attributes["server.port"] = 50051
    client = t.open(op, caller, parent, start, f"{_GRPC_SERVICE}/{method}", attributes)
    failure = t.rng.random()
    payload = None
    if failure < 0.0015:
        code = 14
        message = (
            'connection error: desc = "transport: Error while dialing: dial tcp '
            f'{tp.cluster_host("inventory")}:50051: connect: connection refused"'
        )
        end = start + t.lat(1.5, 0.5)
    elif failure < 0.003:
        code, message = 4, "context deadline exceeded"
        end = start + 2000 * NS_PER_MS + t.lat(0.5)
    else:
        # a slow network in front of inventory (network_delay): waits outside its spans
        delay = int(t.effects.network_delay_ms * NS_PER_MS)
        end, code, message, payload = handler(t, client, start + t.hop() + delay, caller, *args)
        end += t.hop() + delay
    attributes["rpc.grpc.status_code"] = code
    close(client, end, None if code == 0 else f"{GRPC_CODES[code]}: {message}")
    return end, code, payload


def open_grpc_server_span(
    t: Trace, op: Operation, client: Span, start: int, caller: Instance, method: str
) -> tuple[Instance, Span]:
    inst = t.pick("inventory")
    span = t.open(
        op,
        inst,
        client,
        start,
        f"{_GRPC_SERVICE}/{method}",
        {
            "rpc.system": "grpc",
            "rpc.service": _GRPC_SERVICE,
            "rpc.method": method,
            "server.address": tp.cluster_host("inventory"),
            "server.port": 50051,
            "network.peer.address": caller.ip,
        },
    )
    return inst, span


def finish_grpc_server_span(span: Span, end: int, code: int, message: str = "") -> int:
    span.attributes["rpc.grpc.status_code"] = code
    error = f"{GRPC_CODES[code]}: {message}" if code in _GRPC_SERVER_ERRORS else None
    return close(span, end, error)
