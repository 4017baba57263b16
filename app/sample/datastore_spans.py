"""Postgres and Redis client spans, named and attributed as each service's client library does."""

from __future__ import annotations

from typing import Any

from app.sample import topology as tp
from app.sample.topology import Instance, Operation
from app.sample.trace_builder import NS_PER_MS, Trace, close, record_exception
from connectors.spans import Span


def postgres_query(
    t: Trace,
    op: Operation,
    inst: Instance,
    parent: Span,
    start: int,
    statement: str,
    duration_ns: int,
) -> Span:
    """A Postgres call as the service's client library reports it."""
    spec = inst.spec
    operation, table = op.db_operation, op.db_table
    client = spec.db_client
    if client == "otelsql":
        name = "sql.conn.query" if operation == "SELECT" else "sql.conn.exec"
    elif client == "npgsql":
        name = tp.DB_NAME
    elif client == "psycopg2" or not table:
        name = operation
    else:
        name = f"{operation} {tp.DB_NAME}.{table}"
    attributes: dict[str, Any]
    if spec.legacy_semconv:
        attributes = {
            "db.system": "postgresql",
            "db.name": tp.DB_NAME,
            "db.statement": statement,
            "db.user": f"{spec.name}_svc",
            "net.peer.name": tp.POSTGRES_HOST,
            "net.peer.port": 5432,
        }
        if client == "jdbc":
            # JDBC instrumentation records the URL as configured: here with its password, a
            # seeded secret that must never reach a model (tests look for it)
            password = "pg_" + t.run.secret_key[-16:]
            attributes["db.connection_string"] = (
                f"postgresql://{spec.name}_svc:{password}@{tp.POSTGRES_HOST}:5432/{tp.DB_NAME}"
            )
            attributes["db.operation"] = operation
            if table:
                attributes["db.sql.table"] = table
    else:
        attributes = {
            "db.system": "postgresql",
            "db.namespace": tp.DB_NAME,
            "db.query.text": statement,
            "server.address": tp.POSTGRES_HOST,
            "server.port": 5432,
        }
        if client == "psycopg":
            attributes["db.operation.name"] = operation
            if table:
                attributes["db.collection.name"] = table
    span = t.open(op, inst, parent, start, name, attributes)
    if client == "psycopg" and inst.ordinal == 1:  # this pod runs with sqlcommenter enabled
        key = "db.query.text"
        attributes[key] = f"{statement} /*traceparent='00-{t.trace_id}-{span.span_id}-01'*/"
    span.end_unix_nano = start + duration_ns
    return span


_REDIS_TIMEOUTS: dict[str, tuple[float, str, str, str]] = {
    "ioredis": (
        500.0,
        "Error",
        "Command timed out",
        "Error: Command timed out\n"
        "    at Timeout._onTimeout (/app/node_modules/ioredis/built/Command.js:192:33)\n"
        "    at listOnTimeout (node:internal/timers:573:17)\n"
        "    at process.processTimers (node:internal/timers:514:7)",
    ),
    "stackexchange": (
        5000.0,
        "StackExchange.Redis.RedisTimeoutException",
        "Timeout performing {command} (5000ms), next: {statement}, inst: 0, qu: 0, qs: 31, "
        "aw: False, bw: SpinningDown, rs: ReadAsync, ws: Idle, in: 0, "
        "serverEndpoint: redis.shop.svc.cluster.local:6379, mc: 1/1/0, mgr: 10 of 10 available, "
        "IOCP: (Busy=0,Free=1000,Min=2,Max=1000), WORKER: (Busy=3,Free=32764,Min=2,Max=32767), "
        "v: 2.7.33.41805",
        "StackExchange.Redis.RedisTimeoutException: {message}\n"
        "   at StackExchange.Redis.ConnectionMultiplexer.ExecuteSyncImpl[T](Message message, "
        "ResultProcessor`1 processor, ServerEndPoint server, T defaultValue) in "
        "/_/src/StackExchange.Redis/ConnectionMultiplexer.cs:line 2099\n"
        "   at Shop.Cart.CartStore.LoadAsync(Int64 userId) in /src/Cart/CartStore.cs:line 41\n"
        "   at Shop.Cart.CartController.Get(Int64 userId) in /src/Cart/CartController.cs:line 27",
    ),
    "redis-py": (
        1000.0,
        "redis.exceptions.TimeoutError",
        "Timeout reading from socket",
        "Traceback (most recent call last):\n"
        '  File "/usr/local/lib/python3.12/site-packages/redis/connection.py", line 563, '
        "in read_response\n"
        "    response = self._parser.read_response(disable_decoding=disable_decoding)\n"
        '  File "/usr/local/lib/python3.12/site-packages/redis/_parsers/socket.py", line 63, '
        "in _read_from_socket\n"
        '    raise TimeoutError("Timeout reading from socket")\n'
        "redis.exceptions.TimeoutError: Timeout reading from socket",
    ),
}


def redis_command(
    t: Trace,
    op: Operation,
    inst: Instance,
    parent: Span,
    start: int,
    command: str,
    statement: str,
    median_ms: float = 0.35,
) -> tuple[Span, bool]:
    """A Redis command; returns the span and whether it answered (False: it timed out)."""
    spec = inst.spec
    client = spec.redis_client
    name = command.lower() if client == "ioredis" else command
    attributes: dict[str, Any]
    if spec.legacy_semconv:
        attributes = {
            "db.system": "redis",
            "db.statement": statement,
            "db.redis.database_index": 0,
            "net.peer.name": tp.REDIS_HOST,
            "net.peer.port": 6379,
        }
        if client == "stackexchange":
            attributes["db.redis.flags"] = "DemandMaster"
    else:
        system_key = "db.system.name" if client == "ioredis" else "db.system"
        attributes = {
            system_key: "redis",
            "db.operation.name": command,
            "db.query.text": statement,
            "db.namespace": "0",
            "server.address": tp.REDIS_HOST,
            "server.port": 6379,
        }
    span = t.open(op, inst, parent, start, name, attributes)
    share = t.effects.redis_timeout_share
    baseline_timeout = t.rng.random() < 0.0003
    if baseline_timeout or (share and t.rng.random() < share):
        timeout_ms, kind, message, stack = _REDIS_TIMEOUTS[client]
        message = message.format(command=command, statement=statement)
        end = start + int(timeout_ms * t.rng.uniform(1.0, 1.02) * NS_PER_MS)
        record_exception(span, end, kind, message, stack.format(message=message))
        close(span, end, message)
        return span, False
    close(span, start + t.lat(median_ms, 0.35))
    return span, True
