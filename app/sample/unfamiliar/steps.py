"""How a composed system turns a request into spans.

A ``Build`` is one trace under construction; it owns the trace's ``random.Random``, so the
spans come out the same for the same seed. The work a handler does is a list of steps (a
query, a cache call, a call to another service, a message, an outside API), each of which
opens its spans, runs, and answers ``(end_ns, outcome)``: outcome ``""`` when all went well,
``MISSING`` when a lookup found nothing (the handler answers 404), or an error message.

Ids are drawn once per trace and kind of id (``Build.draw``): the cart a request is about is
the same cart in the caller's URL, the callee's path, the cache key and the query.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.sample.unfamiliar import conventions as cv
from app.sample.unfamiliar.ids import WORDS, IdPool
from app.sample.unfamiliar.sql import Query, render
from app.sample.unfamiliar.system import Operation, Pod, Position, Service
from connectors.spans import Span, SpanEvent, SpanLink, StatusCode

NS_PER_MS = 1_000_000
MISSING = "missing"
KAFKA_BROKER = "kafka-0.kafka.internal"
RABBIT_BROKER = "rabbitmq.internal"
REDIS_HOST = "redis-main.cache.internal"
GRPC_CODES = {0: "OK", 5: "NOT_FOUND", 13: "INTERNAL", 14: "UNAVAILABLE"}


@dataclass(frozen=True)
class Message:
    """A Kafka message waiting for its consumer, who reads it in a trace of its own."""

    trace_id: str
    span_id: str
    consumer: KafkaConsumer
    topic: str
    key: str
    partition: int
    offset: int
    produced_ns: int
    seed: int
    drawn: dict[str, str]


class Build:
    """One trace under construction: its randomness, spans, truth labels and id values."""

    __slots__ = ("rng", "start_ns", "trace_id", "spans", "truth", "values", "drawn", "messages")

    def __init__(self, rng: random.Random, start_ns: int) -> None:
        self.rng = rng
        self.start_ns = start_ns
        self.trace_id = f"{rng.getrandbits(128) or 1:032x}"
        self.spans: list[Span] = []
        self.truth: dict[str, str] = {}
        self.values: dict[str, dict[str, str]] = {}
        self.drawn: dict[str, str] = {}
        self.messages: list[Message] = []

    def draw(self, pool: IdPool) -> str:
        """This trace's value of one kind of id, drawn the first time it is asked for."""
        value = self.drawn.get(pool.name)
        if value is None:
            value = self.drawn[pool.name] = pool.draw(self.rng)
        return value

    def values_of(self, positions: Sequence[Position]) -> dict[str, str]:
        return {p.name: self.draw(p.pool) for p in positions}

    def pick(self, service: Service) -> Pod:
        pods = service.pods
        return pods[int(self.rng.random() * len(pods))]

    def open(
        self,
        op: Operation,
        pod: Pod,
        role: str,
        parent: Span | None,
        start: int,
        name: str,
        attributes: dict[str, Any],
        values: dict[str, str],
    ) -> Span:
        span_id = f"{self.rng.getrandbits(64) or 1:016x}"
        scope_name, scope_version = pod.service.scope(role)
        span = Span(
            self.trace_id,
            span_id,
            None if parent is None else parent.span_id,
            name,
            op.kind,
            start,
            start,
            attributes,
            pod.resource,
            StatusCode.UNSET,
            "",
            scope_name,
            scope_version,
        )
        self.spans.append(span)
        self.truth[span_id] = op.label
        if values:
            self.values[span_id] = values
        return span

    def lat(self, median_ms: float, sigma: float = 0.35) -> int:
        """A lognormal duration in nanoseconds."""
        return int(median_ms * self.rng.lognormvariate(0.0, sigma) * NS_PER_MS)

    def hop(self) -> int:
        return self.lat(0.3)


def close(span: Span, end: int, error: str | None = None) -> int:
    span.end_unix_nano = end
    if error:
        span.status_code = StatusCode.ERROR
        span.status_message = error
    return end


def record_exception(span: Span, at: int, kind: str, message: str) -> None:
    span.events.append(
        SpanEvent("exception", at, {"exception.type": kind, "exception.message": message})
    )


class Step(Protocol):
    """Something a handler does: opens its spans under ``parent`` and reports how it went."""

    def run(self, b: Build, pod: Pod, parent: Span, start: int) -> tuple[int, str]: ...


def run_steps(
    steps: Sequence[Step], b: Build, pod: Pod, parent: Span, start: int
) -> tuple[int, str]:
    """The steps one after the other; the first that does not go well ends the handler."""
    cur = start
    for step in steps:
        cur, outcome = step.run(b, pod, parent, cur + b.lat(0.05))
        if outcome:
            return cur, outcome
    return cur, ""


@dataclass(frozen=True)
class Choice:
    """One of several steps, by weight (a payment provider's region, say)."""

    steps: tuple[Step, ...]
    cum_weights: tuple[float, ...]

    def run(self, b: Build, pod: Pod, parent: Span, start: int) -> tuple[int, str]:
        i = bisect(self.cum_weights, b.rng.random() * self.cum_weights[-1])
        return self.steps[i].run(b, pod, parent, start)


_DB_ERRORS = {
    "postgresql": ("psycopg.errors.DeadlockDetected", "deadlock detected"),
    "mysql": (
        "OperationalError",
        "(1205, 'Lock wait timeout exceeded; try restarting transaction')",
    ),
}


@dataclass(frozen=True)
class SqlStep:
    """One statement; ``miss_rate`` of lookups find no row."""

    op: Operation
    query: Query
    style: str
    median_ms: float = 1.0
    miss_rate: float = 0.0

    def run(self, b: Build, pod: Pod, parent: Span, start: int) -> tuple[int, str]:
        service = pod.service
        db = service.db
        assert db is not None, f"{service.name} has no database"
        values = b.values_of(self.op.positions)
        h = service.habits
        statement = (
            render(self.query, self.style, db.system, values, b.rng) if h.db_statements else ""
        )
        host = f"{values['shard']}.db.internal" if db.shard is not None else db.host
        name, attributes = cv.sql(h, db, self.query, statement, host)
        span = b.open(self.op, pod, "db", parent, start, name, attributes, values)
        if h.sqlcommenter and h.db_statements:
            key = "db.statement" if h.db_legacy else "db.query.text"
            attributes[key] = statement + _sqlcomment(service, db.system, b.trace_id, span.span_id)
        rng = b.rng
        if rng.random() < 0.002:
            kind, message = _DB_ERRORS[db.system]
            end = start + b.lat(self.median_ms * 40, 0.6)
            record_exception(span, end, kind, message)
            return close(span, end, message), message
        end = close(span, start + b.lat(self.median_ms, 0.5))
        if self.miss_rate and rng.random() < self.miss_rate:
            return end, MISSING
        return end, ""


def _sqlcomment(service: Service, system: str, trace_id: str, span_id: str) -> str:
    """The comment sqlcommenter appends: Python's names the driver and framework too."""
    traceparent = f"traceparent='00-{trace_id}-{span_id}-01'"
    if service.language == "python":
        driver = "psycopg2" if system == "postgresql" else "pymysql"
        return f" /*db_driver='{driver}',framework='flask%3A3.0.3',{traceparent}*/"
    return f" /*{traceparent}*/"


@dataclass(frozen=True)
class RedisStep:
    """One Redis command on a key made of literals and ids (``cart:{cart}``)."""

    op: Operation
    command: str
    key: str
    args: str = ""

    def run(self, b: Build, pod: Pod, parent: Span, start: int) -> tuple[int, str]:
        values = b.values_of(self.op.positions)
        key = self.key.format_map(values)
        statement = f"{self.command} {key}{self.args}"
        name, attributes = cv.redis(pod.service.habits, self.command, key, statement, REDIS_HOST)
        span = b.open(self.op, pod, "redis", parent, start, name, attributes, values)
        if b.rng.random() < 0.0005:
            end = start + b.lat(500.0, 0.05)
            message = "Timeout reading from socket"
            record_exception(span, end, "TimeoutError", message)
            return close(span, end, message), message
        return close(span, start + b.lat(0.3)), ""


@dataclass(frozen=True)
class CacheAside:
    """Read the cache; on a miss, load and write back."""

    get: RedisStep
    load: tuple[Step, ...]
    put: RedisStep
    hit_rate: float

    def run(self, b: Build, pod: Pod, parent: Span, start: int) -> tuple[int, str]:
        end, outcome = self.get.run(b, pod, parent, start)
        if outcome or b.rng.random() < self.hit_rate:
            return end, outcome
        end, outcome = run_steps(self.load, b, pod, parent, end)
        if outcome:
            return end, outcome
        return self.put.run(b, pod, parent, end + b.lat(0.05))


@dataclass
class Route:
    """One HTTP route of a service: one true server operation and the work it does.

    ``segments`` are path literals and ``{name}`` placeholders of ``positions``; ``query``
    is ``search`` for a route that takes ``?q=<words>&limit=20``.
    """

    service: Service
    op: Operation
    method: str
    segments: tuple[str, ...]
    positions: tuple[Position, ...]
    steps: list[Step] = field(default_factory=list)
    ok_status: int = 200
    query: str = ""

    def prepare(self, b: Build) -> tuple[dict[str, str], str, str]:
        """The ids, the path and the query string of one request."""
        values = b.values_of(self.positions)
        path = "/" + "/".join(values[s[1:-1]] if s.startswith("{") else s for s in self.segments)
        query = ""
        if self.query == "search":
            query = f"q={'+'.join(b.rng.choices(WORDS, k=b.rng.randint(1, 3)))}&limit=20"
        return values, path, query

    def serve(
        self,
        b: Build,
        parent: Span | None,
        start: int,
        request: tuple[dict[str, str], str, str],
        peer: str,
        user_agent: str,
    ) -> tuple[int, int]:
        """The server span and its work; returns its end and the status code."""
        values, path, query = request
        pod = b.pick(self.service)
        h = self.service.habits
        route = cv.route_template(list(self.segments), h.route_style)
        name, attributes = cv.http_server(
            h,
            self.method,
            path,
            query,
            route,
            self.service.host,
            self.service.port,
            peer,
            user_agent,
        )
        span = b.open(self.op, pod, "http", parent, start, name, attributes, values)
        end, outcome = run_steps(self.steps, b, pod, span, start + b.lat(0.1))
        if not outcome:
            status = self.ok_status
        elif outcome == MISSING:
            status = 404
        else:
            status = 502 if outcome.startswith("upstream") else 500
            record_exception(span, end, "ServerError", outcome)
        end = end + b.lat(0.1)
        close(span, end, cv.http_status(attributes, h.server_legacy, status, client=False))
        return end, status


@dataclass(frozen=True)
class Endpoint:
    """Routes (or gRPC methods) a caller reaches by one call site, each with its share:
    the versions of a route, and the literal siblings beside an id route."""

    routes: tuple[Any, ...]
    cum_weights: tuple[float, ...]

    def pick(self, rng: random.Random) -> int:
        return bisect(self.cum_weights, rng.random() * self.cum_weights[-1])


@dataclass(frozen=True)
class HttpCall:
    """A call to another service's HTTP endpoint; ``client_ops[i]`` is the caller's
    operation for ``endpoint.routes[i]``."""

    endpoint: Endpoint
    client_ops: tuple[Operation, ...]

    def run(self, b: Build, pod: Pod, parent: Span, start: int) -> tuple[int, str]:
        i = self.endpoint.pick(b.rng)
        route: Route = self.endpoint.routes[i]
        request = route.prepare(b)
        values, path, query = request
        callee = route.service
        h = pod.service.habits
        name, attributes = cv.http_client(h, route.method, callee.host, callee.port, path, query)
        span = b.open(
            self.client_ops[i], pod, "http_client", parent, start, name, attributes, values
        )
        agent = _USER_AGENTS[pod.service.language]
        end, status = route.serve(b, span, start + b.hop(), request, pod.ip, agent)
        end += b.hop()
        close(span, end, cv.http_status(attributes, h.client_legacy, status, client=True))
        if status < 400:
            return end, ""
        return end, MISSING if status == 404 else f"upstream {callee.name} answered {status}"


_USER_AGENTS = {
    "python": "python-httpx/0.27.0",
    "go": "Go-http-client/1.1",
    "java": "Java-http-client/21.0.3",
    "node": "undici",
    "dotnet": "",
    "ruby": "Faraday v2.9.0",
}


@dataclass
class GrpcMethod:
    """One method of a gRPC service (in one package version): a true server operation."""

    service: Service
    op: Operation
    rpc_service: str
    method: str
    steps: list[Step] = field(default_factory=list)

    def serve(self, b: Build, parent: Span | None, start: int) -> tuple[int, int]:
        pod = b.pick(self.service)
        legacy = self.service.habits.server_legacy
        name, attributes = cv.grpc(
            legacy, True, self.rpc_service, self.method, self.service.host, self.service.port
        )
        span = b.open(self.op, pod, "grpc_server", parent, start, name, attributes, {})
        end, outcome = run_steps(self.steps, b, pod, span, start + b.lat(0.05))
        code = 0 if not outcome else 5 if outcome == MISSING else 13
        attributes["rpc.grpc.status_code"] = code
        end += b.lat(0.05)
        close(span, end, outcome if code == 13 else None)
        return end, code


@dataclass(frozen=True)
class GrpcCall:
    endpoint: Endpoint
    client_ops: tuple[Operation, ...]

    def run(self, b: Build, pod: Pod, parent: Span, start: int) -> tuple[int, str]:
        i = self.endpoint.pick(b.rng)
        method: GrpcMethod = self.endpoint.routes[i]
        callee = method.service
        name, attributes = cv.grpc(
            pod.service.habits.client_legacy,
            False,
            method.rpc_service,
            method.method,
            callee.host,
            callee.port,
        )
        span = b.open(self.client_ops[i], pod, "grpc", parent, start, name, attributes, {})
        if b.rng.random() < 0.001:
            end = start + b.lat(2.0, 0.5)
            attributes["rpc.grpc.status_code"] = 14
            message = f"connection error: dial tcp {callee.host}:{callee.port}: connection refused"
            return close(span, end, message), f"upstream {callee.name}: UNAVAILABLE"
        end, code = method.serve(b, span, start + b.hop())
        end += b.hop()
        attributes["rpc.grpc.status_code"] = code
        close(span, end, GRPC_CODES[code] if code else None)
        if code == 0:
            return end, ""
        return end, MISSING if code == 5 else f"upstream {callee.name}: {GRPC_CODES[code]}"


@dataclass(frozen=True)
class OutsideCall:
    """A call to an API outside the system; ``fail_rate`` of them get a 503."""

    op: Operation
    method: str
    host: str
    path: str
    ok_status: int = 200
    fail_rate: float = 0.02
    median_ms: float = 80.0

    def run(self, b: Build, pod: Pod, parent: Span, start: int) -> tuple[int, str]:
        values = b.values_of(self.op.positions)
        path = self.path.format_map(values)
        h = pod.service.habits
        name, attributes = cv.http_client(h, self.method, self.host, 443, path, "")
        span = b.open(self.op, pod, "http_client", parent, start, name, attributes, values)
        failed = b.rng.random() < self.fail_rate
        status = 503 if failed else self.ok_status
        end = start + b.lat(self.median_ms, 0.5)
        close(span, end, cv.http_status(attributes, h.client_legacy, status, client=True))
        return end, f"upstream {self.host} answered 503" if failed else ""


@dataclass(frozen=True)
class Internal:
    """A span the service's own code opens around some work (``process job {job}``)."""

    op: Operation
    name: str
    attributes: tuple[tuple[str, str], ...] = ()
    steps: tuple[Step, ...] = ()
    median_ms: float = 2.0

    def run(self, b: Build, pod: Pod, parent: Span, start: int) -> tuple[int, str]:
        values = b.values_of(self.op.positions)
        name = self.name.format_map(values)
        attributes: dict[str, Any] = {k: v.format_map(b.drawn) for k, v in self.attributes}
        span = b.open(self.op, pod, "app", parent, start, name, attributes, values)
        end, outcome = run_steps(self.steps, b, pod, span, start + b.lat(0.05))
        end += b.lat(self.median_ms, 0.5)
        close(span, end, outcome if outcome and outcome != MISSING else None)
        return end, outcome


@dataclass
class KafkaConsumer:
    """The worker's consumer of one topic pattern; each message gets a trace of its own
    whose root links back to the producer's span."""

    service: Service
    op: Operation
    group: str
    steps: list[Step] = field(default_factory=list)

    def consume(self, b: Build, message: Message) -> None:
        b.drawn.update(message.drawn)
        pod = b.pick(self.service)
        values = b.values_of(self.op.positions)
        name, attributes = cv.messaging(
            self.service.habits.messaging_legacy,
            "kafka",
            "process",
            message.topic,
            KAFKA_BROKER,
            {
                "messaging.consumer.group.name": self.group,
                "messaging.destination.partition.id": str(message.partition),
                "messaging.kafka.offset": message.offset,
                "messaging.kafka.message.key": message.key,
            },
        )
        root = b.open(self.op, pod, "messaging", None, b.start_ns, name, attributes, values)
        root.links.append(SpanLink(message.trace_id, message.span_id, {}))
        end, outcome = run_steps(self.steps, b, pod, root, b.start_ns + b.lat(0.2))
        close(root, end + b.lat(0.2), outcome if outcome and outcome != MISSING else None)


@dataclass(frozen=True)
class KafkaPublish:
    """Publish to a per-tenant topic (``events.{tenant}.orders``); consumed later."""

    op: Operation
    topic: str
    key: Position
    consumer: KafkaConsumer

    def run(self, b: Build, pod: Pod, parent: Span, start: int) -> tuple[int, str]:
        values = b.values_of(self.op.positions)
        topic = self.topic.format_map(values)
        key = b.draw(self.key.pool)
        rng = b.rng
        partition, offset = rng.randrange(12), rng.randrange(1_000_000, 90_000_000)
        name, attributes = cv.messaging(
            pod.service.habits.messaging_legacy,
            "kafka",
            "publish",
            topic,
            KAFKA_BROKER,
            {
                "messaging.kafka.message.key": key,
                "messaging.destination.partition.id": str(partition),
            },
        )
        span = b.open(self.op, pod, "messaging", parent, start, name, attributes, values)
        end = close(span, start + b.lat(1.5, 0.5))
        b.messages.append(
            Message(
                b.trace_id,
                span.span_id,
                self.consumer,
                topic,
                key,
                partition,
                offset,
                end,
                rng.getrandbits(64),
                dict(b.drawn),
            )
        )
        return end, ""


@dataclass(frozen=True)
class RabbitPublish:
    """Publish a job to a per-cell exchange; the worker's consumer span is the producer's
    child in the same trace, and may end after the request that queued it."""

    op: Operation
    destination: str
    consumer_op: Operation
    worker: Service
    steps: tuple[Step, ...]

    def run(self, b: Build, pod: Pod, parent: Span, start: int) -> tuple[int, str]:
        values = b.values_of(self.op.positions)
        destination = self.destination.format_map(values)
        message_id = f"{b.rng.getrandbits(64):016x}"
        extra = {
            "messaging.rabbitmq.destination.routing_key": destination,
            "messaging.message.id": message_id,
        }
        name, attributes = cv.messaging(
            pod.service.habits.messaging_legacy,
            "rabbitmq",
            "publish",
            destination,
            RABBIT_BROKER,
            extra,
        )
        producer = b.open(self.op, pod, "rabbitmq", parent, start, name, attributes, values)
        end = close(producer, start + b.lat(0.8))
        worker = b.pick(self.worker)
        name, attributes = cv.messaging(
            self.worker.habits.messaging_legacy,
            "rabbitmq",
            "process",
            destination,
            RABBIT_BROKER,
            dict(extra),
        )
        begin = end + b.lat(4.0, 0.8)
        consumer = b.open(
            self.consumer_op, worker, "rabbitmq", producer, begin, name, attributes, values
        )
        done, outcome = run_steps(self.steps, b, worker, consumer, begin + b.lat(0.2))
        close(consumer, done + b.lat(0.2), outcome if outcome and outcome != MISSING else None)
        return end, ""
