"""A span's operation, read by the semantic-convention family its attributes belong to.

The family is chosen from what the span carries, current and legacy attribute names alike:
a database system (Redis and Memcached are caches), a messaging system, an RPC system, an
HTTP method; anything else falls back to its name with ids masked. A family normalizer
that finds too little to work with (a database span with no statement, operation or
table) returns None and the span falls back too, so every span gets an operation.
"""

from __future__ import annotations

from app.discovery.normalize.cache import CACHE_SYSTEMS, normalize_cache
from app.discovery.normalize.database import normalize_database
from app.discovery.normalize.generic import normalize_generic
from app.discovery.normalize.http import normalize_http_client, normalize_http_server
from app.discovery.normalize.messaging import normalize_messaging
from app.discovery.normalize.rpc import normalize_rpc
from app.discovery.operation import Operation
from connectors.spans import Span, SpanKind


def normalize(span: Span) -> Operation:
    attributes = span.attributes
    operation: Operation | None = None
    system = attributes.get("db.system.name") or attributes.get("db.system")
    if system:
        if str(system).lower() in CACHE_SYSTEMS:
            operation = normalize_cache(span)
        else:
            operation = normalize_database(span)
    elif "messaging.system" in attributes:
        operation = normalize_messaging(span)
    elif "rpc.system" in attributes:
        operation = normalize_rpc(span)
    elif "http.request.method" in attributes or "http.method" in attributes:
        if span.kind is SpanKind.SERVER:
            operation = normalize_http_server(span)
        else:
            operation = normalize_http_client(span)
    return operation or normalize_generic(span)
