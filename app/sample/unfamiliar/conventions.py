"""Span names and attributes in the current or the legacy OpenTelemetry semantic conventions.

Current: ``http.request.method``, ``url.full``, ``url.path``, ``http.route``,
``http.response.status_code``, ``server.address``, ``db.system.name``, ``db.query.text``,
``db.operation.name``, ``db.collection.name``, ``messaging.destination.name``,
``messaging.operation.type``. Legacy: ``http.method``, ``http.url``, ``http.target``,
``http.status_code``, ``net.peer.name``, ``db.system``, ``db.statement``, ``db.operation``,
``db.sql.table``, ``messaging.destination``, ``messaging.operation``. Each function takes the
service's ``Habits`` (or a ``legacy`` flag) and returns the span's name and attributes, so the
choice of convention is made in one place per kind of span.
"""

from __future__ import annotations

from typing import Any

from app.sample.unfamiliar.sql import Query
from app.sample.unfamiliar.system import Database, Habits

REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    404: "Not Found",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def route_template(segments: list[str], style: str) -> str:
    """``segments`` holds literals and ``{name}`` placeholders; ``style`` is how the
    framework writes a parameter: ``:x`` (Express, Rails), ``{x}`` or ``<x>`` (Flask)."""
    out = []
    for segment in segments:
        if segment.startswith("{"):
            name = segment[1:-1]
            segment = f":{name}" if style == ":x" else f"<{name}>" if style == "<x>" else segment
        out.append(segment)
    return "/" + "/".join(out)


def http_server(
    h: Habits,
    method: str,
    path: str,
    query: str,
    route: str,
    host: str,
    port: int,
    peer: str,
    user_agent: str,
) -> tuple[str, dict[str, Any]]:
    """A server span; without ``records_route`` it has the raw path only, ids and all."""
    scheme = "https" if port == 443 else "http"
    route_known = h.records_route
    name_style = h.server_name
    if name_style == "route":
        name = f"{method} {route}"
    elif name_style == "route_only":
        name = route
    elif name_style == "raw_path":
        name = f"{method} {path}"
    elif name_style == "http_method":
        name = f"HTTP {method}"
    else:
        name = method
    attributes: dict[str, Any]
    if h.server_legacy:
        attributes = {
            "http.method": method,
            "http.scheme": scheme,
            "http.target": f"{path}?{query}" if query else path,
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
        if user_agent:
            attributes["user_agent.original"] = user_agent
        if query:
            attributes["url.query"] = query
    if route_known:
        attributes["http.route"] = route
    return name, attributes


def http_status(attributes: dict[str, Any], legacy: bool, status: int, client: bool) -> str | None:
    """Record the answer; returns the status message when the span is an error (any 4xx or
    5xx for a client, 5xx only for a server: a 404 is the caller's problem)."""
    if legacy:
        attributes["http.status_code"] = status
    else:
        attributes["http.response.status_code"] = status
        if status >= 500 or (client and status >= 400):
            attributes["error.type"] = str(status)
    if status >= 500 or (client and status >= 400):
        return f"{status} {REASONS.get(status, '')}".strip()
    return None


def http_client(
    h: Habits, method: str, host: str, port: int, path: str, query: str
) -> tuple[str, dict[str, Any]]:
    """A client span; without ``client_url`` it has the server address and the path only."""
    scheme = "https" if port == 443 else "http"
    target = f"{path}?{query}" if query else path
    authority = host if port in (80, 443) else f"{host}:{port}"
    if h.client_name == "http_method":
        name = f"HTTP {method}"
    elif h.client_name == "raw_path":
        name = f"{method} {path}"
    else:
        name = method
    attributes: dict[str, Any]
    if h.client_legacy:
        attributes = {"http.method": method}
        if h.client_url:
            attributes["http.url"] = f"{scheme}://{authority}{target}"
        else:
            attributes["http.target"] = target
        attributes["net.peer.name"] = host
        attributes["net.peer.port"] = port
    else:
        attributes = {"http.request.method": method}
        if h.client_url:
            attributes["url.full"] = f"{scheme}://{authority}{target}"
        else:
            attributes["url.path"] = path
            if query:
                attributes["url.query"] = query
        attributes["server.address"] = host
        attributes["server.port"] = port
    return name, attributes


def grpc(
    legacy: bool, server: bool, service: str, method: str, host: str, port: int
) -> tuple[str, dict[str, Any]]:
    attributes: dict[str, Any] = {
        "rpc.system": "grpc",
        "rpc.service": service,
        "rpc.method": method,
    }
    if legacy:
        attributes["net.host.name" if server else "net.peer.name"] = host
        attributes["net.host.port" if server else "net.peer.port"] = port
    else:
        attributes["server.address"] = host
        attributes["server.port"] = port
    return f"{service}/{method}", attributes


def sql(
    h: Habits, db: Database, query: Query, statement: str, host: str
) -> tuple[str, dict[str, Any]]:
    """A SQL client span; a service that does not capture statements sends the operation
    and the table instead."""
    if h.db_name == "op_table":
        table = f"{db.name}.{query.table}" if h.db_legacy else query.table
        name = f"{query.verb} {table}"
    elif h.db_name == "op":
        name = query.verb
    else:
        name = db.name
    attributes: dict[str, Any]
    if h.db_legacy:
        attributes = {"db.system": db.system, "db.name": db.name, "db.user": f"{db.name}_rw"}
        if h.db_statements:
            attributes["db.statement"] = statement
        if not h.db_statements or h.db_name == "op_table":
            attributes["db.operation"] = query.verb
            attributes["db.sql.table"] = query.table
        attributes["net.peer.name"] = host
        attributes["net.peer.port"] = db.port
    else:
        attributes = {"db.system.name": db.system, "db.namespace": db.name}
        if h.db_statements:
            attributes["db.query.text"] = statement
        if not h.db_statements or h.db_name == "op_table":
            attributes["db.operation.name"] = query.verb
            attributes["db.collection.name"] = query.table
        attributes["server.address"] = host
        attributes["server.port"] = db.port
    return name, attributes


def redis(
    h: Habits, command: str, key: str, statement: str, host: str
) -> tuple[str, dict[str, Any]]:
    if h.redis_name == "lower":
        name = command.lower()
    elif h.redis_name == "command_key":
        name = f"{command} {key}"
    else:
        name = command
    attributes: dict[str, Any]
    if h.db_legacy:
        attributes = {
            "db.system": "redis",
            "db.statement": statement,
            "db.redis.database_index": 0,
            "net.peer.name": host,
            "net.peer.port": 6379,
        }
    else:
        attributes = {
            "db.system.name": "redis",
            "db.operation.name": command,
            "db.query.text": statement,
            "db.namespace": "0",
            "server.address": host,
            "server.port": 6379,
        }
    return name, attributes


def messaging(
    legacy: bool,
    system: str,
    operation: str,
    destination: str,
    broker: str,
    extra: dict[str, Any],
) -> tuple[str, dict[str, Any]]:
    """A producer (``publish``) or consumer (``process``) span of Kafka or RabbitMQ.

    ``extra`` maps current attribute names to values; legacy spans get the older names.
    """
    attributes: dict[str, Any]
    if legacy:
        name = f"{destination} {operation}"
        attributes = {
            "messaging.system": system,
            "messaging.destination": destination,
            "messaging.destination_kind": "topic" if system == "kafka" else "queue",
            "messaging.operation": operation,
            "net.peer.name": broker,
        }
        for key, value in extra.items():
            attributes[_LEGACY_MESSAGING.get(key, key)] = value
        if "messaging.kafka.partition" in attributes:  # an int before it became an id string
            attributes["messaging.kafka.partition"] = int(attributes["messaging.kafka.partition"])
    else:
        kind = "send" if operation == "publish" else operation
        name = f"{kind} {destination}"
        attributes = {
            "messaging.system": system,
            "messaging.destination.name": destination,
            "messaging.operation.type": kind,
            "messaging.operation.name": kind,
            "server.address": broker,
        }
        attributes.update(extra)
    return name, attributes


_LEGACY_MESSAGING = {
    "messaging.kafka.message.key": "messaging.kafka.message_key",
    "messaging.destination.partition.id": "messaging.kafka.partition",
    "messaging.kafka.offset": "messaging.kafka.message_offset",
    "messaging.consumer.group.name": "messaging.kafka.consumer_group",
    "messaging.rabbitmq.destination.routing_key": "messaging.rabbitmq.routing_key",
    "messaging.message.id": "messaging.message_id",
}
