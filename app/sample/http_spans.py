"""HTTP server and client spans, in the current or the legacy semantic conventions.

Which convention a span follows depends on the pod's instrumentation (``spec.legacy_semconv``);
``call_service`` joins a client span to the server span of the service it calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.sample import topology as tp
from app.sample.topology import Instance, Operation
from app.sample.trace_builder import Trace, close
from connectors.spans import Span

_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    304: "Not Modified",
    400: "Bad Request",
    402: "Payment Required",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

USER_AGENTS = {
    "nodejs": "node",
    "go": "Go-http-client/1.1",
    "dotnet": "",
    "java": "okhttp/4.12.0",
    "python": "python-requests/2.32.3",
}


def serve_call(
    t: Trace,
    service: str,
    op: Operation,
    client: Span,
    start: int,
    caller: Instance,
    method: str,
    path: str,
    route: str,
    query: str = "",
) -> tuple[Instance, Span]:
    """A call from another service of the shop, served: a pod of ``service`` picked, and its
    server span with the caller's address and its HTTP client's user agent."""
    inst = t.pick(service)
    span = open_server_span(
        t,
        op,
        inst,
        client,
        start,
        method,
        path,
        query,
        route,
        peer=caller.ip,
        user_agent=USER_AGENTS[caller.spec.language],
    )
    return inst, span


def open_server_span(
    t: Trace,
    op: Operation,
    inst: Instance,
    parent: Span | None,
    start: int,
    method: str,
    path: str,
    query: str,
    route: str,
    *,
    peer: str,
    user_agent: str,
) -> Span:
    spec = inst.spec
    if spec.name == "frontend":
        host, port, scheme = tp.PUBLIC_HOST, 443, "https"
    else:
        host, port, scheme = tp.cluster_host(spec.name), spec.port, "http"
    if spec.name == "cart":  # ASP.NET Core rc9 names a span after the bare route template
        name = route.lstrip("/")
    elif spec.name == "notification":  # old Flask instrumentation: the URL rule only
        name = route
    else:
        name = f"{method} {route}" if route else method
    attributes: dict[str, Any]
    if spec.legacy_semconv:
        attributes = {
            "http.method": method,
            "http.scheme": scheme,
            "http.target": f"{path}?{query}" if query else path,
            "http.route": route,
            "net.host.name": host,
            "net.host.port": port,
            "http.flavor": "1.1",
            "net.sock.peer.addr": peer,
        }
        if user_agent:
            attributes["http.user_agent"] = user_agent
    else:
        attributes = {
            "http.request.method": method,
            "url.scheme": scheme,
            "url.path": path,
            "server.address": host,
            "server.port": port,
            "network.protocol.version": "1.1",
            "client.address": peer,
        }
        if route:
            attributes["http.route"] = route
        if query:
            attributes["url.query"] = query
        if user_agent:
            attributes["user_agent.original"] = user_agent
    return t.open(op, inst, parent, start, name, attributes)


def finish_server_span(
    span: Span, legacy: bool, end: int, status: int, error: str | None = None
) -> int:
    """Server spans are errors for 5xx only (a 4xx is the client's problem)."""
    if legacy:
        span.attributes["http.status_code"] = status
    else:
        span.attributes["http.response.status_code"] = status
        if status >= 500:
            span.attributes["error.type"] = str(status)
    if status >= 500 and error is None:
        error = f"{status} {_REASONS.get(status, '')}".strip()
    return close(span, end, error)


def open_client_span(
    t: Trace,
    op: Operation,
    inst: Instance,
    parent: Span,
    start: int,
    method: str,
    url: str,
    host: str,
    port: int,
) -> Span:
    attributes: dict[str, Any]
    if inst.spec.legacy_semconv:
        name = f"HTTP {method}"
        attributes = {
            "http.method": method,
            "http.url": url,
            "net.peer.name": host,
            "net.peer.port": port,
            "http.flavor": "1.1",
        }
    else:
        name = method
        attributes = {
            "http.request.method": method,
            "url.full": url,
            "server.address": host,
            "server.port": port,
            "network.protocol.version": "1.1",
        }
    return t.open(op, inst, parent, start, name, attributes)


def finish_client_span(span: Span, legacy: bool, end: int, status: int) -> int:
    """Client spans are errors for any 4xx or 5xx answer."""
    if legacy:
        span.attributes["http.status_code"] = status
    else:
        span.attributes["http.response.status_code"] = status
        if status >= 400:
            span.attributes["error.type"] = str(status)
    error = f"{status} {_REASONS.get(status, '')}".strip() if status >= 400 else None
    return close(span, end, error)


Handler = Callable[..., tuple[int, int, Any]]
"""A server: ``(trace, client span, start, caller, *args) -> (end, status, payload)``."""


def call_service(
    t: Trace,
    op: Operation,
    caller: Instance,
    parent: Span,
    start: int,
    method: str,
    service: str,
    path: str,
    handler: Handler,
    *args: Any,
) -> tuple[int, int, Any]:
    """An HTTP call from ``caller`` to another service of the shop."""
    host = tp.cluster_host(service)
    port = tp.SERVICES[service].port
    client = open_client_span(
        t, op, caller, parent, start, method, f"http://{host}:{port}{path}", host, port
    )
    end, status, payload = handler(t, client, start + t.hop(), caller, *args)
    end = finish_client_span(client, caller.spec.legacy_semconv, end + t.hop(), status)
    return end, status, payload
