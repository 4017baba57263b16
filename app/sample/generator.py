"""Traces of the sample shop, generated deterministically from a seed.

Each trace starts with a request that arrives at the frontend (or a Kubernetes probe at any
service); checkouts publish to Kafka, and the notification service consumes each message in a
trace of its own whose root links back to the producer span. Traces come out lazily, ordered
by the start of their root span, so millions of spans need no memory.

Determinism: the only randomness is ``random.Random`` instances seeded from the config's seed,
one for the arrival schedule and one per trace; no wall clock is read. A trace's randomness
depends only on the seed and its position, so a fault changes the traces in its window and
nothing else.

What ``SampleConfig.traces`` counts: requests arriving from outside (browsers, probes). The
notification traces that orders cause, and the extra probes of ``noisy_health_check``, come
on top; consumer traces that would start after ``end_time_unix_nano`` are left out, as their
messages would still wait in the topic.
"""

from __future__ import annotations

import heapq
import itertools
import random
import zlib
from bisect import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

from app.sample import topology as tp
from app.sample.faults import DEPLOY_VERSION, INJECTIONS, Effects, Fault, FaultPlan
from app.sample.topology import Instance, Operation
from connectors.spans import Span, SpanEvent, SpanLink, StatusCode

_MS = 1_000_000
_ERROR = StatusCode.ERROR


@dataclass(frozen=True)
class SampleConfig:
    """What to generate: how many requests, over which time range, with which faults."""

    seed: int = 42
    traces: int = 2000
    end_time_unix_nano: int = 1_795_274_715_000_000_000
    spread_s: float = 900.0
    faults: tuple[Fault, ...] = ()

    def __post_init__(self) -> None:
        if self.traces < 0:
            raise ValueError("traces must not be negative")
        if self.spread_s <= 0:
            raise ValueError("spread_s must be positive")


@dataclass
class GeneratedTrace:
    """One trace and, for each of its spans, the operation it truly belongs to."""

    trace_id: str
    scenario: str
    spans: list[Span]
    truth: dict[str, str] = field(default_factory=dict)
    """span_id -> truth label (``service|kind|what``, see ``topology.Operation``)."""


def generate_spans(config: SampleConfig) -> Iterator[Span]:
    """The spans of ``generate_traces(config)``, trace after trace."""
    for trace in generate_traces(config):
        yield from trace.spans


def generate_traces(config: SampleConfig) -> Iterator[GeneratedTrace]:
    """The sample's traces, lazily, in order of their root span's start."""
    spread_ns = int(config.spread_s * 1e9)
    end_ns = config.end_time_unix_nano
    begin_ns = end_ns - spread_ns
    plan = FaultPlan(config.faults, end_ns, config.spread_s)
    run = _Run(
        fleet=tp.Fleet(random.Random(f"{config.seed}:fleet"), plan.rollouts()),
        plan=plan,
        secret_key=tp.fake_secret_key(random.Random(f"{config.seed}:secrets")),
    )
    arrivals = random.Random(config.seed)
    step_ns = spread_ns / max(config.traces, 1)
    # (start_ns, tie-breaker, scenario function, seed, argument) of traces caused by others
    pending: list[tuple[int, int, Callable[..., str], int, Any]] = []
    order = itertools.count()

    def run_pending(item: tuple[int, int, Callable[..., str], int, Any]) -> GeneratedTrace:
        start, _, scenario, seed, argument = item
        trace = _Trace(run, random.Random(seed), start, plan.at(start))
        name = scenario(trace, argument)
        return GeneratedTrace(trace.trace_id, name, trace.spans, trace.truth)

    for slot in range(config.traces):
        start = begin_ns + int((slot + arrivals.random()) * step_ns)
        seed = arrivals.getrandbits(64)
        while pending and pending[0][0] <= start:
            yield run_pending(heapq.heappop(pending))
        effects = plan.at(start)
        trace = _Trace(run, random.Random(seed), start, effects)
        trace.slot = slot
        scenario = _SCENARIOS[bisect(_SCENARIO_CUMULATIVE, trace.rng.random())]
        name = scenario(trace)
        yield GeneratedTrace(trace.trace_id, name, trace.spans, trace.truth)
        for message in trace.messages:
            at = message.consumed_ns + plan.consumer_lag_ns(message.produced_ns)
            heapq.heappush(pending, (at, next(order), _notification, message.seed, message))
        if effects.healthz_polls:
            slot_end = begin_ns + int((slot + 1) * step_ns)
            polls = effects.healthz_polls
            for j in range(polls):
                at = start + int((j + trace.rng.random()) * (slot_end - start) / polls)
                poll_seed = trace.rng.getrandbits(64)
                heapq.heappush(pending, (at, next(order), _healthz_poll, poll_seed, None))
    while pending and pending[0][0] <= end_ns:
        yield run_pending(heapq.heappop(pending))


# --- one trace under construction -----------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    fleet: tp.Fleet
    plan: FaultPlan
    secret_key: str


@dataclass(frozen=True)
class _OrderPlaced:
    """A Kafka message produced by checkout, waiting for the notification consumer."""

    trace_id: str
    span_id: str
    produced_ns: int
    consumed_ns: int
    seed: int
    order: int
    user: int
    total_cents: int
    partition: int
    offset: int


class _Trace:
    __slots__ = (
        "run",
        "rng",
        "start_ns",
        "effects",
        "trace_id",
        "spans",
        "truth",
        "messages",
        "slot",
    )

    def __init__(self, run: _Run, rng: random.Random, start_ns: int, effects: Effects) -> None:
        self.run = run
        self.rng = rng
        self.start_ns = start_ns
        self.effects = effects
        self.trace_id = tp.trace_id(rng)
        self.spans: list[Span] = []
        self.truth: dict[str, str] = {}
        self.messages: list[_OrderPlaced] = []
        self.slot = 0

    def pick(self, service: str) -> Instance:
        return self.run.fleet.pick(service, self.rng, self.start_ns)

    def open(
        self,
        op: Operation,
        inst: Instance,
        parent: Span | None,
        start: int,
        name: str,
        attributes: dict[str, Any],
    ) -> Span:
        span_id = tp.span_id(self.rng)
        span = Span(
            self.trace_id,
            span_id,
            None if parent is None else parent.span_id,
            name,
            op.kind,
            start,
            start,
            attributes,
            inst.resource,
            StatusCode.UNSET,
            "",
            op.scope.name,
            op.scope.version,
        )
        self.spans.append(span)
        self.truth[span_id] = op.label
        return span

    def lat(self, median_ms: float, sigma: float = 0.3) -> int:
        """A lognormal duration in nanoseconds."""
        return int(median_ms * self.rng.lognormvariate(0.0, sigma) * _MS)

    def hop(self) -> int:
        """One way across the cluster network."""
        return self.lat(0.35, 0.35)


def _close(span: Span, end: int, error: str | None = None) -> int:
    span.end_unix_nano = end
    if error is not None:
        span.status_code = _ERROR
        span.status_message = error
    return end


def _exception(span: Span, at: int, kind: str, message: str, stacktrace: str) -> None:
    span.events.append(
        SpanEvent(
            "exception",
            at,
            {
                "exception.type": kind,
                "exception.message": message,
                "exception.stacktrace": stacktrace,
            },
        )
    )


# --- attributes in the current and the legacy semantic conventions ---------------------------

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

_USER_AGENTS = {
    "nodejs": "node",
    "go": "Go-http-client/1.1",
    "dotnet": "",
    "java": "okhttp/4.12.0",
    "python": "python-requests/2.32.3",
}


def _server(
    t: _Trace,
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


def _finish_server(
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
    return _close(span, end, error)


def _client(
    t: _Trace,
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


def _finish_client(span: Span, legacy: bool, end: int, status: int) -> int:
    """Client spans are errors for any 4xx or 5xx answer."""
    if legacy:
        span.attributes["http.status_code"] = status
    else:
        span.attributes["http.response.status_code"] = status
        if status >= 400:
            span.attributes["error.type"] = str(status)
    error = f"{status} {_REASONS.get(status, '')}".strip() if status >= 400 else None
    return _close(span, end, error)


Handler = Callable[..., tuple[int, int, Any]]
"""A server: ``(trace, client span, start, caller, *args) -> (end, status, payload)``."""


def _call(
    t: _Trace,
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
    client = _client(
        t, op, caller, parent, start, method, f"http://{host}:{port}{path}", host, port
    )
    end, status, payload = handler(t, client, start + t.hop(), caller, *args)
    end = _finish_client(client, caller.spec.legacy_semconv, end + t.hop(), status)
    return end, status, payload


_GRPC_CODES = {
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


def _grpc(
    t: _Trace,
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
        end = start + 2000 * _MS + t.lat(0.5)
    else:
        end, code, message, payload = handler(t, client, start + t.hop(), caller, *args)
        end += t.hop()
    attributes["rpc.grpc.status_code"] = code
    _close(client, end, None if code == 0 else f"{_GRPC_CODES[code]}: {message}")
    return end, code, payload


def _grpc_server(
    t: _Trace, op: Operation, client: Span, start: int, caller: Instance, method: str
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


def _finish_grpc_server(span: Span, end: int, code: int, message: str = "") -> int:
    span.attributes["rpc.grpc.status_code"] = code
    error = f"{_GRPC_CODES[code]}: {message}" if code in _GRPC_SERVER_ERRORS else None
    return _close(span, end, error)


# --- databases ----------------------------------------------------------------------------


def _sql(
    t: _Trace,
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
            attributes["db.connection_string"] = f"postgresql://{tp.POSTGRES_HOST}:5432"
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


def _redis(
    t: _Trace,
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
        end = start + int(timeout_ms * t.rng.uniform(1.0, 1.02) * _MS)
        _exception(span, end, kind, message, stack.format(message=message))
        _close(span, end, message)
        return span, False
    _close(span, start + t.lat(median_ms, 0.35))
    return span, True


# --- frontend -------------------------------------------------------------------------------


def _frontend_root(
    t: _Trace, op: Operation, method: str, path: str, query: str, route: str
) -> tuple[Span, Instance]:
    rng = t.rng
    user_agent = tp.BROWSER_AGENTS[int(rng.random() * len(tp.BROWSER_AGENTS))]
    share = t.effects.injection_share
    if share and rng.random() < share / 4:
        user_agent = f"Mozilla/5.0 (compatible; {rng.choice(INJECTIONS)})"
    fe = t.pick("frontend")
    root = _server(
        t,
        op,
        fe,
        None,
        t.start_ns,
        method,
        path,
        query,
        route,
        peer=tp.client_address(rng),
        user_agent=user_agent,
    )
    return root, fe


def _session(t: _Trace, fe: Instance, root: Span, start: int) -> tuple[int, bool]:
    """Express's auth middleware, which loads the session from Redis."""
    auth = t.open(
        tp.FE_AUTH,
        fe,
        root,
        start,
        "middleware - auth",
        {"express.name": "auth", "express.type": "middleware"},
    )
    session_key = f"session:{tp.hex_id(t.rng, 32)}"
    span, ok = _redis(
        t, tp.FE_SESSION, fe, auth, start + t.lat(0.05), "HGETALL", f"HGETALL {session_key}"
    )
    return _close(auth, span.end_unix_nano + t.lat(0.05)), ok


def _render(t: _Trace, op: Operation, fe: Instance, root: Span, start: int, template: str) -> int:
    span = t.open(op, fe, root, start, f"render template {template}", {"template": template})
    return _close(span, start + t.lat(3.5, 0.45))


def _frontend_done(root: Span, end: int, status: int, error: str | None = None) -> None:
    _finish_server(root, False, end, status, error)


def _upstream_status(status: int) -> tuple[int, str | None]:
    """What the frontend answers when a service it called answered ``status``."""
    if status >= 500:
        return 502, f"upstream answered {status}"
    return status, None


def _scenario_browse(t: _Trace) -> str:
    number = tp.product_number(t.rng)
    sku = tp.sku(number)
    root, fe = _frontend_root(t, tp.FE_PRODUCT, "GET", f"/products/{sku}", "", "/products/:sku")
    cur, _ = _session(t, fe, root, t.start_ns + t.lat(0.15))
    cur, code, _ = _grpc(
        t,
        tp.FE_GRPC_GET_PRODUCT,
        fe,
        root,
        cur + t.lat(0.1),
        "GetProduct",
        _inventory_get_product,
        number,
    )
    if code == 5:
        _frontend_done(root, cur + t.lat(1.5), 404)
    elif code != 0:
        _frontend_done(root, cur + t.lat(0.5), 503, f"inventory: {_GRPC_CODES[code]}")
    else:
        cur, _, _ = _call(
            t,
            tp.FE_CALL_RELATED,
            fe,
            root,
            cur + t.lat(0.1),
            "GET",
            "search",
            f"/v1/related/{sku}?limit=8",
            _search_related,
            sku,
        )
        cur = _render(t, tp.FE_RENDER_PRODUCT, fe, root, cur + t.lat(0.1), f"product_{number}.html")
        _frontend_done(root, cur + t.lat(0.3), 200)
    return "browse"


def _listing(t: _Trace, op: Operation, path: str, query: str, route: str, category: int) -> Span:
    root, fe = _frontend_root(t, op, "GET", path, query, route)
    cur, _ = _session(t, fe, root, t.start_ns + t.lat(0.15))
    cur, code, _ = _grpc(
        t,
        tp.FE_GRPC_LIST_PRODUCTS,
        fe,
        root,
        cur + t.lat(0.1),
        "ListProducts",
        _inventory_list_products,
        category,
    )
    if code != 0:
        _frontend_done(root, cur + t.lat(0.5), 503, f"inventory: {_GRPC_CODES[code]}")
        return root
    render = tp.FE_RENDER_HOME if op is tp.FE_HOME else tp.FE_RENDER_CATEGORY
    template = "home.html" if op is tp.FE_HOME else "category.html"
    cur = _render(t, render, fe, root, cur + t.lat(0.1), template)
    _frontend_done(root, cur + t.lat(0.3), 200)
    return root


def _scenario_home(t: _Trace) -> str:
    _listing(t, tp.FE_HOME, "/", "", "/", 1)
    return "home"


def _scenario_category(t: _Trace) -> str:
    slug, category = tp.CATEGORIES[int(t.rng.random() * len(tp.CATEGORIES))]
    page = 1 if t.rng.random() < 0.7 else t.rng.randrange(2, 5)
    sort = t.rng.choice(("newest", "newest", "popular", "price_asc"))
    query = f"page={page}&sort={sort}"
    _listing(t, tp.FE_CATEGORY, f"/category/{slug}", query, "/category/:slug", category)
    return "category"


def _scenario_search(t: _Trace) -> str:
    rng = t.rng
    term = tp.SEARCH_TERMS[int(rng.random() * len(tp.SEARCH_TERMS))]
    share = t.effects.injection_share
    if share and rng.random() < share:
        term = rng.choice(INJECTIONS)
    page = 1 if rng.random() < 0.8 else rng.randrange(2, 4)
    root, fe = _frontend_root(
        t, tp.FE_SEARCH, "GET", "/search", f"q={quote_plus(term)}&page={page}", "/search"
    )
    cur, _ = _session(t, fe, root, t.start_ns + t.lat(0.15))
    cur, status, _ = _call(
        t,
        tp.FE_CALL_SEARCH,
        fe,
        root,
        cur + t.lat(0.1),
        "GET",
        "search",
        f"/v1/search?q={quote(term)}&page={page}&limit=24",
        _search_query,
        term,
        page,
    )
    if status != 200:
        _frontend_done(root, cur + t.lat(0.5), *_upstream_status(status))
        return "search"
    cur = _render(t, tp.FE_RENDER_SEARCH, fe, root, cur + t.lat(0.1), "search.html")
    _frontend_done(root, cur + t.lat(0.3), 200)
    return "search"


def _authenticated(
    t: _Trace, op: Operation, method: str, path: str, route: str
) -> tuple[Span, Instance, int, int] | None:
    """Root and session of a route for signed-in users: ``(root, pod, user, now)``.

    None when the session store failed and the frontend already answered 503.
    """
    user = tp.user_id(t.rng)
    root, fe = _frontend_root(t, op, method, path, "", route)
    root.attributes["app.user.id"] = str(user)
    cur, ok = _session(t, fe, root, t.start_ns + t.lat(0.15))
    if not ok:
        _frontend_done(root, cur + t.lat(0.3), 503, "session store unavailable")
        return None
    return root, fe, user, cur + t.lat(0.1)


def _scenario_cart_view(t: _Trace) -> str:
    signed_in = _authenticated(t, tp.FE_CART, "GET", "/cart", "/cart")
    if signed_in is not None:
        root, fe, user, cur = signed_in
        cur, status, _ = _call(
            t, tp.FE_CALL_CART, fe, root, cur, "GET", "cart", f"/v1/cart/{user}", _cart_get, user, 0
        )
        if status != 200:
            _frontend_done(root, cur + t.lat(0.4), *_upstream_status(status))
        else:
            cur = _render(t, tp.FE_RENDER_CART, fe, root, cur + t.lat(0.1), "cart.html")
            _frontend_done(root, cur + t.lat(0.3), 200)
    return "cart_view"


def _scenario_cart_add(t: _Trace) -> str:
    signed_in = _authenticated(t, tp.FE_CART_ADD, "POST", "/cart/items", "/cart/items")
    if signed_in is not None:
        root, fe, user, cur = signed_in
        number = tp.product_number(t.rng)
        quantity = 1 if t.rng.random() < 0.8 else t.rng.randrange(2, 5)
        cur, status, _ = _call(
            t,
            tp.FE_CALL_CART_ADD,
            fe,
            root,
            cur,
            "POST",
            "cart",
            f"/v1/cart/{user}/items",
            _cart_add,
            user,
            number,
            quantity,
        )
        _frontend_done(root, cur + t.lat(0.4), *_upstream_status(status))
    return "cart_add"


def _scenario_checkout(t: _Trace) -> str:
    signed_in = _authenticated(t, tp.FE_CHECKOUT, "POST", "/checkout", "/checkout")
    if signed_in is not None:
        root, fe, user, cur = signed_in
        cur, status, _ = _call(
            t,
            tp.FE_CALL_CHECKOUT,
            fe,
            root,
            cur,
            "POST",
            "checkout",
            "/v1/checkout",
            _checkout,
            user,
        )
        if status == 201:
            status = 200
        _frontend_done(root, cur + t.lat(0.5), *_upstream_status(status))
    return "checkout"


def _scenario_order_status(t: _Trace) -> str:
    rng = t.rng
    order = tp.order_id(rng)
    user = tp.user_id(rng)
    # guests look their order up by e-mail address, which ends up in the query string
    query = f"email={quote(tp.email(user))}" if rng.random() < 0.4 else ""
    root, fe = _frontend_root(t, tp.FE_ORDER, "GET", f"/orders/{order}", query, "/orders/:orderId")
    cur, _ = _session(t, fe, root, t.start_ns + t.lat(0.15))
    cur, status, _ = _call(
        t,
        tp.FE_CALL_ORDER,
        fe,
        root,
        cur + t.lat(0.1),
        "GET",
        "checkout",
        f"/v1/orders/{order}",
        _order_get,
        order,
    )
    if status == 200:
        cur = _render(t, tp.FE_RENDER_ORDER, fe, root, cur + t.lat(0.1), "order.html")
    _frontend_done(root, cur + t.lat(0.3), *_upstream_status(status))
    return "order_status"


def _scenario_order_cancel(t: _Trace) -> str:
    order = tp.order_id(t.rng)
    signed_in = _authenticated(
        t, tp.FE_ORDER_CANCEL, "POST", f"/orders/{order}/cancel", "/orders/:orderId/cancel"
    )
    if signed_in is not None:
        root, fe, user, cur = signed_in
        cur, status, _ = _call(
            t,
            tp.FE_CALL_CANCEL,
            fe,
            root,
            cur,
            "POST",
            "checkout",
            f"/v1/orders/{order}/cancel",
            _order_cancel,
            order,
        )
        _frontend_done(root, cur + t.lat(0.4), *_upstream_status(status))
    return "order_cancel"


def _scenario_static(t: _Trace) -> str:
    rng = t.rng
    if rng.random() < 0.6:
        path = tp.STATIC_BUNDLES[int(rng.random() * len(tp.STATIC_BUNDLES))]
    else:
        path = f"/static/img/products/{tp.sku(tp.product_number(rng))}.webp"
    root, _ = _frontend_root(t, tp.FE_STATIC, "GET", path, "", "")
    status = 304 if rng.random() < 0.35 else 200
    _frontend_done(root, t.start_ns + t.lat(0.6, 0.5), status)
    return "static"


_PROBES: tuple[tuple[str, Operation, str], ...] = (
    ("frontend", tp.FE_HEALTHZ, "/healthz"),
    ("frontend", tp.FE_READYZ, "/readyz"),
    ("checkout", tp.CO_HEALTHZ, "/healthz"),
    ("checkout", tp.CO_READYZ, "/readyz"),
    ("cart", tp.CA_HEALTHZ, "/healthz"),
    ("payment", tp.PA_LIVENESS, "/actuator/health/liveness"),
    ("payment", tp.PA_READINESS, "/actuator/health/readiness"),
    ("search", tp.SE_HEALTHZ, "/healthz"),
    ("notification", tp.NO_HEALTHZ, "/healthz"),
    ("inventory", tp.IN_HEALTH, ""),
)


def _scenario_health(t: _Trace) -> str:
    service, op, path = _PROBES[int(t.rng.random() * len(_PROBES))]
    inst = t.pick(service)
    kubelet = inst.ip.rsplit(".", 1)[0] + ".1"
    if not path:  # inventory speaks gRPC, so the kubelet uses the gRPC health protocol
        span = t.open(
            op,
            inst,
            None,
            t.start_ns,
            "grpc.health.v1.Health/Check",
            {
                "rpc.system": "grpc",
                "rpc.service": "grpc.health.v1.Health",
                "rpc.method": "Check",
                "server.address": tp.cluster_host(service),
                "server.port": 50051,
                "network.peer.address": kubelet,
            },
        )
        _finish_grpc_server(span, t.start_ns + t.lat(0.2), 0)
        return "health"
    span = _server(
        t,
        op,
        inst,
        None,
        t.start_ns,
        "GET",
        path,
        "",
        path,
        peer=kubelet,
        user_agent="kube-probe/1.29",
    )
    _finish_server(span, inst.spec.legacy_semconv, t.start_ns + t.lat(0.4, 0.5), 200)
    return "health"


def _healthz_poll(t: _Trace, _: None) -> str:
    """A misconfigured prober polling a deep health endpoint (``noisy_health_check``)."""
    fe = t.pick("frontend")
    root = _server(
        t,
        tp.FE_API_HEALTHZ,
        fe,
        None,
        t.start_ns,
        "GET",
        "/api/healthz",
        "",
        "/api/healthz",
        peer="10.42.7.33",
        user_agent="Blackbox-Exporter/0.25.0",
    )
    ping, ok = _redis(t, tp.FE_PING, fe, root, t.start_ns + t.lat(0.1), "PING", "PING")
    if ok:
        _frontend_done(root, ping.end_unix_nano + t.lat(0.1), 200)
    else:
        _frontend_done(root, ping.end_unix_nano + t.lat(0.1), 503, "redis: Command timed out")
    return "healthz_poll"


# --- search ---------------------------------------------------------------------------------


def _search_server(
    t: _Trace,
    op: Operation,
    client: Span,
    start: int,
    caller: Instance,
    path: str,
    query: str,
    route: str,
) -> tuple[Instance, Span]:
    inst = t.pick("search")
    span = _server(
        t,
        op,
        inst,
        client,
        start,
        "GET",
        path,
        query,
        route,
        peer=caller.ip,
        user_agent=_USER_AGENTS[caller.spec.language],
    )
    return inst, span


def _elasticsearch(
    t: _Trace, op: Operation, inst: Instance, parent: Span, start: int, body: str, median_ms: float
) -> int:
    span = t.open(
        op,
        inst,
        parent,
        start,
        "search",
        {
            "db.system": "elasticsearch",
            "db.operation.name": "search",
            "db.collection.name": "products",
            "db.query.text": body,
            "http.request.method": "POST",
            "url.full": f"http://{tp.ELASTICSEARCH_HOST}:9200/products/_search",
            "server.address": tp.ELASTICSEARCH_HOST,
            "server.port": 9200,
        },
    )
    return _close(span, start + t.lat(median_ms, 0.45))


def _search_query(
    t: _Trace, client: Span, start: int, caller: Instance, term: str, page: int
) -> tuple[int, int, None]:
    query = f"q={quote(term)}&page={page}&limit=24"
    inst, server = _search_server(
        t, tp.SE_SEARCH, client, start, caller, "/v1/search", query, "/v1/search"
    )
    key = f"search:v2:{zlib.crc32(f'{term}|{page}'.encode()):08x}"
    cache, ok = _redis(
        t, tp.SE_CACHE_GET_QUERY, inst, server, start + t.lat(0.3), "GET", f"GET {key}"
    )
    cur = cache.end_unix_nano
    if not ok or t.rng.random() < 0.65:
        escaped = term.replace("\\", "\\\\").replace('"', '\\"')
        body = (
            f'{{"query":{{"multi_match":{{"query":"{escaped}","fields":["name^3","description"]}}}},'
            f'"from":{24 * (page - 1)},"size":24}}'
        )
        cur = _elasticsearch(t, tp.SE_ES_MATCH, inst, server, cur + t.lat(0.2), body, 18.0)
        if ok:
            span, _ = _redis(
                t,
                tp.SE_CACHE_SET_QUERY,
                inst,
                server,
                cur + t.lat(0.1),
                "SETEX",
                f"SETEX {key} 120 ?",
            )
            cur = span.end_unix_nano
    end = _finish_server(server, False, cur + t.lat(0.8), 200)
    return end, 200, None


def _search_related(
    t: _Trace, client: Span, start: int, caller: Instance, sku: str
) -> tuple[int, int, None]:
    inst, server = _search_server(
        t,
        tp.SE_RELATED,
        client,
        start,
        caller,
        f"/v1/related/{sku}",
        "limit=8",
        "/v1/related/<sku>",
    )
    cache, ok = _redis(
        t, tp.SE_CACHE_GET_RELATED, inst, server, start + t.lat(0.3), "GET", f"GET related:{sku}"
    )
    cur = cache.end_unix_nano
    if not ok or t.rng.random() < 0.3:
        body = (
            '{"query":{"more_like_this":{"fields":["name","description"],'
            f'"like":[{{"_index":"products","_id":"{sku}"}}],"min_term_freq":1}}}},"size":8}}'
        )
        cur = _elasticsearch(t, tp.SE_ES_MLT, inst, server, cur + t.lat(0.2), body, 25.0)
        if ok:
            span, _ = _redis(
                t,
                tp.SE_CACHE_SET_RELATED,
                inst,
                server,
                cur + t.lat(0.1),
                "SETEX",
                f"SETEX related:{sku} 3600 ?",
            )
            cur = span.end_unix_nano
    end = _finish_server(server, False, cur + t.lat(0.5), 200)
    return end, 200, None


# --- inventory ------------------------------------------------------------------------------


def _inventory_get_product(
    t: _Trace, client: Span, start: int, caller: Instance, number: int
) -> tuple[int, int, str, None]:
    sku = tp.sku(number)
    inst, server = _grpc_server(t, tp.IN_GET_PRODUCT, client, start, caller, "GetProduct")
    missing = t.rng.random() < 0.02
    cache, ok = _redis(
        t, tp.IN_CACHE_GET_PRODUCT, inst, server, start + t.lat(0.2), "GET", f"GET product:{sku}"
    )
    cur = cache.end_unix_nano
    code, message = 0, ""
    if missing or not ok or t.rng.random() < 0.15:
        statement = (
            "SELECT id, sku, name, description, price_cents, category_id FROM products "
            f"WHERE sku = '{sku}'"
        )
        span = _sql(
            t, tp.IN_SELECT_PRODUCT, inst, server, cur + t.lat(0.1), statement, t.lat(1.3, 0.4)
        )
        cur = span.end_unix_nano
        if missing:
            code, message = 5, f"product {sku} not found"
        elif ok:
            statement = f"SETEX product:{sku} 300 ?"
            span, _ = _redis(
                t, tp.IN_CACHE_SET_PRODUCT, inst, server, cur + t.lat(0.1), "SETEX", statement
            )
            cur = span.end_unix_nano
    return _finish_grpc_server(server, cur + t.lat(0.3), code, message), code, message, None


def _inventory_list_products(
    t: _Trace, client: Span, start: int, caller: Instance, category: int
) -> tuple[int, int, str, None]:
    rng = t.rng
    inst, server = _grpc_server(t, tp.IN_LIST_PRODUCTS, client, start, caller, "ListProducts")
    offset = 0 if rng.random() < 0.7 else 24 * rng.randrange(1, 4)
    statement = (
        "SELECT id, sku, name, price_cents\n"
        "  FROM products\n"
        f" WHERE category_id = {category}\n"
        " ORDER BY created_at DESC\n"
        f" LIMIT 24 OFFSET {offset}"
    )
    # without the (category_id, created_at) index this is a sequential scan and a sort
    duration = int(t.lat(5.5, 0.45) * t.effects.slow_query_factor(rng))
    span = _sql(t, tp.IN_SELECT_CATEGORY, inst, server, start + t.lat(0.3), statement, duration)
    count = 24 if offset == 0 else rng.randrange(3, 25)
    skus = ", ".join(f"'{tp.sku(tp.product_number(rng))}'" for _ in range(count))
    statement = f"SELECT sku, available FROM inventory WHERE sku IN ({skus})"
    span = _sql(
        t,
        tp.IN_SELECT_STOCK_LIST,
        inst,
        server,
        span.end_unix_nano + t.lat(0.1),
        statement,
        t.lat(1.0 + 0.06 * count, 0.35),
    )
    return _finish_grpc_server(server, span.end_unix_nano + t.lat(0.6), 0), 0, "", None


def _inventory_get_stock(
    t: _Trace, client: Span, start: int, caller: Instance, number: int
) -> tuple[int, int, str, int]:
    inst, server = _grpc_server(t, tp.IN_GET_STOCK, client, start, caller, "GetStock")
    statement = f"SELECT sku, available FROM inventory WHERE sku = '{tp.sku(number)}'"
    span = _sql(
        t, tp.IN_SELECT_STOCK, inst, server, start + t.lat(0.2), statement, t.lat(0.9, 0.35)
    )
    available = 0 if t.rng.random() < 0.03 else t.rng.randrange(1, 400)
    return _finish_grpc_server(server, span.end_unix_nano + t.lat(0.2), 0), 0, "", available


_DEADLOCK_MESSAGE = (
    "deadlock detected\n"
    "DETAIL:  Process {a} waits for ShareLock on transaction {x}; blocked by process {b}.\n"
    "Process {b} waits for ShareLock on transaction {y}; blocked by process {a}.\n"
    "HINT:  See server log for query details.\n"
    'CONTEXT:  while updating tuple ({page},{tuple}) in relation "inventory"'
)
_DEADLOCK_STACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/inventory/reservations.py", line 77, in reserve\n'
    "    cur.execute(UPDATE_RESERVE.format(quantity=quantity, sku=sku))\n"
    '  File "/usr/local/lib/python3.12/site-packages/psycopg/cursor.py", line 732, in execute\n'
    "    raise ex.with_traceback(None)\n"
    "psycopg.errors.DeadlockDetected: {message}"
)

Item = tuple[int, int, int]
"""(product number, quantity, unit price in cents)"""


def _transaction(
    t: _Trace, inst: Instance, server: Span, start: int, items: list[Item], reserve: bool
) -> tuple[int, int, str]:
    """Reserve or release stock row by row in one transaction: ``(end, grpc code, message)``."""
    rng = t.rng
    span = _sql(t, tp.IN_BEGIN, inst, server, start, "BEGIN", t.lat(0.25))
    cur = span.end_unix_nano
    outcome = rng.random()
    failing = rng.randrange(len(items))
    code, message = 0, ""
    for index, (number, quantity, _) in enumerate(items):
        sku = tp.sku(number)
        if reserve:
            slow = rng.random() < 0.05
            duration = int(rng.uniform(700, 2500) * _MS) if slow else t.lat(1.4, 0.4)
            statement = (
                f"SELECT sku, available, reserved FROM inventory WHERE sku = '{sku}' FOR UPDATE"
            )
            span = _sql(
                t, tp.IN_SELECT_FOR_UPDATE, inst, server, cur + t.lat(0.1), statement, duration
            )
            cur = span.end_unix_nano
            if index == failing and outcome < 0.01:
                code, message = 9, f"insufficient stock for {sku}"
                break
            op = tp.IN_UPDATE_RESERVE
            statement = (
                f"UPDATE inventory SET available = available - {quantity}, "
                f"reserved = reserved + {quantity} WHERE sku = '{sku}'"
            )
        else:
            op = tp.IN_UPDATE_RELEASE
            statement = (
                f"UPDATE inventory SET available = available + {quantity}, "
                f"reserved = reserved - {quantity} WHERE sku = '{sku}'"
            )
        deadlock = reserve and index == failing and 0.01 <= outcome < 0.014
        duration = int(rng.uniform(1000, 1040) * _MS) if deadlock else t.lat(1.2, 0.4)
        span = _sql(t, op, inst, server, cur + t.lat(0.1), statement, duration)
        cur = span.end_unix_nano
        if deadlock:
            pids = rng.sample(range(30000, 60000), 2)
            xid = rng.randrange(9_000_000, 9_900_000)
            detail = _DEADLOCK_MESSAGE.format(
                a=pids[0],
                b=pids[1],
                x=xid,
                y=xid + 1,
                page=rng.randrange(1, 900),
                tuple=rng.randrange(1, 60),
            )
            _exception(
                span,
                cur,
                "psycopg.errors.DeadlockDetected",
                detail,
                _DEADLOCK_STACK.format(message=detail),
            )
            _close(span, cur, "deadlock detected")
            code, message = 13, "deadlock detected"
            break
    if code:
        span = _sql(t, tp.IN_ROLLBACK, inst, server, cur + t.lat(0.1), "ROLLBACK", t.lat(0.3))
    else:
        span = _sql(t, tp.IN_COMMIT, inst, server, cur + t.lat(0.1), "COMMIT", t.lat(1.6, 0.4))
    return span.end_unix_nano, code, message


def _inventory_reserve(
    t: _Trace, client: Span, start: int, caller: Instance, items: list[Item], reserve: bool
) -> tuple[int, int, str, None]:
    """``Reserve`` (``reserve`` true) or ``Release`` the stock of ``items``."""
    op, method = (tp.IN_RESERVE, "Reserve") if reserve else (tp.IN_RELEASE, "Release")
    inst, server = _grpc_server(t, op, client, start, caller, method)
    cur, code, message = _transaction(t, inst, server, start + t.lat(0.3), items, reserve)
    return _finish_grpc_server(server, cur + t.lat(0.3), code, message), code, message, None


# --- cart -----------------------------------------------------------------------------------


def _cart_server(
    t: _Trace,
    op: Operation,
    client: Span,
    start: int,
    caller: Instance,
    method: str,
    path: str,
    route: str,
) -> tuple[Instance, Span]:
    inst = t.pick("cart")
    span = _server(
        t,
        op,
        inst,
        client,
        start,
        method,
        path,
        "",
        route,
        peer=caller.ip,
        user_agent=_USER_AGENTS[caller.spec.language],
    )
    return inst, span


def _cart_failed(server: Span, redis: Span, end: int) -> tuple[int, int, None]:
    """An unhandled RedisTimeoutException: ASP.NET Core records it and answers 500."""
    timeout = redis.events[-1].attributes
    server.events.append(SpanEvent("exception", end, dict(timeout)))
    return _finish_server(server, True, end, 500, timeout["exception.message"]), 500, None


def _cart_get(
    t: _Trace, client: Span, start: int, caller: Instance, user: int, min_items: int
) -> tuple[int, int, list[Item] | None]:
    rng = t.rng
    inst, server = _cart_server(
        t, tp.CA_GET, client, start, caller, "GET", f"/v1/cart/{user}", "/v1/cart/{userId}"
    )
    key = f"cart:user:{user}"
    span, ok = _redis(
        t, tp.CA_HGETALL, inst, server, start + t.lat(0.4), "HGETALL", f"HGETALL {key}"
    )
    cur = span.end_unix_nano
    if not ok:
        return _cart_failed(server, span, cur + t.lat(0.5))
    count = 0 if min_items == 0 and rng.random() < 0.15 else rng.randrange(max(1, min_items), 9)
    items = [
        (
            tp.product_number(rng),
            1 if rng.random() < 0.75 else rng.randrange(2, 4),
            rng.randrange(299, 24999),
        )
        for _ in range(count)
    ]
    if items and t.effects.n_plus_one:
        for number, _, _ in items:
            statement = f"select id, sku, name, price_cents from products where id = {number}"
            span = _sql(
                t,
                tp.CA_SELECT_PRODUCT,
                inst,
                server,
                cur + t.lat(0.15),
                statement,
                t.lat(1.1, 0.35),
            )
            cur = span.end_unix_nano
    elif items:
        ids = ", ".join(str(number) for number, _, _ in items)
        statement = f"select id, sku, name, price_cents from products where id in ({ids})"
        span = _sql(
            t,
            tp.CA_SELECT_PRODUCTS,
            inst,
            server,
            cur + t.lat(0.15),
            statement,
            t.lat(1.2 + 0.1 * len(items), 0.35),
        )
        cur = span.end_unix_nano
    return _finish_server(server, True, cur + t.lat(0.6), 200), 200, items


def _cart_add(
    t: _Trace, client: Span, start: int, caller: Instance, user: int, number: int, quantity: int
) -> tuple[int, int, None]:
    inst, server = _cart_server(
        t,
        tp.CA_ADD,
        client,
        start,
        caller,
        "POST",
        f"/v1/cart/{user}/items",
        "/v1/cart/{userId}/items",
    )
    cur, code, available = _grpc(
        t,
        tp.CA_GRPC_GET_STOCK,
        inst,
        server,
        start + t.lat(0.4),
        "GetStock",
        _inventory_get_stock,
        number,
    )
    if code != 0:
        return (
            _finish_server(server, True, cur + t.lat(0.3), 503, f"inventory: {_GRPC_CODES[code]}"),
            503,
            None,
        )
    if available < quantity:
        return _finish_server(server, True, cur + t.lat(0.3), 409), 409, None
    key = f"cart:user:{user}"
    span, ok = _redis(
        t,
        tp.CA_HINCRBY,
        inst,
        server,
        cur + t.lat(0.1),
        "HINCRBY",
        f"HINCRBY {key} {tp.sku(number)} {quantity}",
    )
    if not ok:
        return _cart_failed(server, span, span.end_unix_nano + t.lat(0.5))
    span, _ = _redis(
        t,
        tp.CA_EXPIRE,
        inst,
        server,
        span.end_unix_nano + t.lat(0.05),
        "EXPIRE",
        f"EXPIRE {key} 2592000",
    )
    return _finish_server(server, True, span.end_unix_nano + t.lat(0.4), 201), 201, None


def _cart_clear(
    t: _Trace, client: Span, start: int, caller: Instance, user: int
) -> tuple[int, int, None]:
    inst, server = _cart_server(
        t, tp.CA_CLEAR, client, start, caller, "DELETE", f"/v1/cart/{user}", "/v1/cart/{userId}"
    )
    span, ok = _redis(
        t, tp.CA_DEL, inst, server, start + t.lat(0.3), "DEL", f"DEL cart:user:{user}"
    )
    if not ok:
        return _cart_failed(server, span, span.end_unix_nano + t.lat(0.5))
    return _finish_server(server, True, span.end_unix_nano + t.lat(0.3), 204), 204, None


# --- payment --------------------------------------------------------------------------------

_DECLINES = (
    "insufficient_funds",
    "generic_decline",
    "do_not_honor",
    "expired_card",
    "incorrect_cvc",
)
_JAVA_FRAMES = (
    "\tat com.shop.payment.PaymentController.{method}(PaymentController.java:54)\n"
    "\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke"
    "(DirectMethodHandleAccessor.java:103)\n"
    "\tat org.springframework.web.method.support.InvocableHandlerMethod.doInvoke"
    "(InvocableHandlerMethod.java:255)\n"
    "\tat org.springframework.web.servlet.DispatcherServlet.doDispatch"
    "(DispatcherServlet.java:1089)\n"
    "\tat org.apache.catalina.core.ApplicationFilterChain.doFilter"
    "(ApplicationFilterChain.java:140)\n"
)


_CONTROLLERS = {
    tp.PA_CONTROLLER_CHARGE.label: ("PaymentController", "charge"),
    tp.PA_CONTROLLER_GET.label: ("PaymentController", "get"),
    tp.PA_CONTROLLER_REFUND.label: ("RefundController", "refund"),
}


def _payment_server(
    t: _Trace,
    op: Operation,
    controller: Operation,
    client: Span,
    start: int,
    caller: Instance,
    method: str,
    path: str,
    route: str,
) -> tuple[Instance, Span, Span]:
    """The Tomcat server span and, inside it, Spring's span of the controller method."""
    inst = t.pick("payment")
    server = _server(
        t,
        op,
        inst,
        client,
        start,
        method,
        path,
        "",
        route,
        peer=caller.ip,
        user_agent=_USER_AGENTS[caller.spec.language],
    )
    class_name, function = _CONTROLLERS[controller.label]
    handler = t.open(
        controller,
        inst,
        server,
        start + t.lat(0.4),
        f"{class_name}.{function}",
        {"code.namespace": f"com.shop.payment.{class_name}", "code.function": function},
    )
    return inst, server, handler


def _stripe(
    t: _Trace,
    op: Operation,
    inst: Instance,
    parent: Span,
    start: int,
    method: str,
    path: str,
    median_ms: float,
    decline_share: float = 0.0,
) -> tuple[int, int]:
    """One call to api.stripe.com: ``(end, status)``; 5xx rarely, or often in a 5xx burst.

    A charge that goes through is declined (402) with probability ``decline_share``.
    """
    rng = t.rng
    client = _client(
        t, op, inst, parent, start, method, f"https://{tp.STRIPE_HOST}{path}", tp.STRIPE_HOST, 443
    )
    if inst.ordinal == 2:  # a pod someone redeployed with header capture switched on
        client.attributes["http.request.header.authorization"] = [f"Bearer {t.run.secret_key}"]
        client.attributes["http.response.header.request_id"] = [tp.provider_id(rng, "req_", 14)]
    share = max(0.003, t.effects.provider_5xx_share)
    if rng.random() < share:
        status = 502 if rng.random() < 0.5 else 503
        end = start + t.lat(60.0, 0.8)
    else:
        status = 402 if decline_share and rng.random() < decline_share else 200
        end = start + t.lat(median_ms, 0.55)
    _finish_client(client, True, end, status)
    return end, status


def _provider_failed(
    t: _Trace, handler: Span, server: Span, end: int, status: int, method: str
) -> int:
    request = tp.provider_id(t.rng, "req_", 14)
    message = f"An unknown error occurred (status {status}); request-id: {request}"
    stack = (
        f"com.stripe.exception.ApiException: {message}\n"
        "\tat com.stripe.net.LiveStripeResponseGetter.handleApiError"
        "(LiveStripeResponseGetter.java:241)\n"
        "\tat com.stripe.net.LiveStripeResponseGetter.request(LiveStripeResponseGetter.java:72)\n"
        + _JAVA_FRAMES.format(method=method)
    )
    _exception(handler, end, "com.stripe.exception.ApiException", message, stack)
    _close(handler, end, message)
    return _finish_server(server, True, end + t.lat(0.5), 502, "payment provider unavailable")


def _payment_charge(
    t: _Trace, client: Span, start: int, caller: Instance, user: int, order: int, amount: int
) -> tuple[int, int, str | None]:
    rng = t.rng
    inst, server, handler = _payment_server(
        t,
        tp.PA_CHARGE,
        tp.PA_CONTROLLER_CHARGE,
        client,
        start,
        caller,
        "POST",
        "/v1/payments",
        "/v1/payments",
    )
    cur = handler.start_unix_nano + t.lat(0.3)
    span = _sql(
        t,
        tp.PA_SELECT_CUSTOMER,
        inst,
        handler,
        cur,
        "SELECT stripe_customer_id FROM payment_customers WHERE user_id = ?",
        t.lat(1.1),
    )
    cur = span.end_unix_nano
    customer = tp.provider_id(rng, "cus_", 14)
    path = rng.random()
    calls: list[tuple[Operation, str, str, float]] = []
    if path < 0.12:
        calls.append(
            (
                tp.PA_STRIPE_FIND_CUSTOMER,
                "GET",
                f"/v1/customers?email={quote(tp.email(user))}&limit=1",
                170.0,
            )
        )
        calls.append((tp.PA_STRIPE_NEW_CUSTOMER, "POST", "/v1/customers", 210.0))
    elif path < 0.37:
        calls.append((tp.PA_STRIPE_GET_CUSTOMER, "GET", f"/v1/customers/{customer}", 150.0))
    for op, method, url, median in calls:
        cur, status = _stripe(t, op, inst, handler, cur + t.lat(0.5), method, url, median)
        if status >= 500:
            return (
                _provider_failed(t, handler, server, cur + t.lat(0.3), status, "charge"),
                502,
                None,
            )
    if path < 0.12:
        span = _sql(
            t,
            tp.PA_INSERT_CUSTOMER,
            inst,
            handler,
            cur + t.lat(0.3),
            "INSERT INTO payment_customers (user_id, stripe_customer_id, created_at) "
            "VALUES (?, ?, ?)",
            t.lat(2.0),
        )
        cur = span.end_unix_nano
    # stripe-java retries a 5xx once after a short backoff
    for attempt in range(2):
        if attempt:
            cur += int(rng.uniform(450, 550) * _MS)
        cur, status = _stripe(
            t,
            tp.PA_STRIPE_CHARGE,
            inst,
            handler,
            cur + t.lat(0.5),
            "POST",
            "/v1/charges",
            320.0,
            decline_share=0.03,
        )
        if status < 500:
            break
    if status >= 500:
        return _provider_failed(t, handler, server, cur + t.lat(0.3), status, "charge"), 502, None
    charge = tp.provider_id(rng, "ch_3", 23)
    declined = status == 402
    payment = tp.uuid4(rng)
    span = _sql(
        t,
        tp.PA_INSERT_PAYMENT,
        inst,
        handler,
        cur + t.lat(0.4),
        "INSERT INTO payments "
        "(id, order_id, user_id, amount_cents, currency, stripe_charge_id, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        t.lat(2.2),
    )
    cur = span.end_unix_nano + t.lat(0.3)
    if declined:
        code = rng.choice(_DECLINES)
        message = f"Your card was declined. (decline_code={code}, charge={charge})"
        stack = (
            f"com.shop.payment.CardDeclinedException: {message}\n"
            "\tat com.shop.payment.StripeGateway.charge(StripeGateway.java:142)\n"
            "\tat com.shop.payment.PaymentService.charge(PaymentService.java:88)\n"
            + _JAVA_FRAMES.format(method="charge")
            + f"Caused by: com.stripe.exception.CardException: Your card was declined.; "
            f"code: card_declined; request-id: {tp.provider_id(rng, 'req_', 14)}\n"
            "\tat com.stripe.net.LiveStripeResponseGetter.handleApiError"
            "(LiveStripeResponseGetter.java:228)\n"
            "\t... 42 more"
        )
        _exception(handler, cur, "com.shop.payment.CardDeclinedException", message, stack)
        _close(handler, cur, message)
        return _finish_server(server, True, cur + t.lat(0.4), 402), 402, None
    _close(handler, cur)
    return _finish_server(server, True, cur + t.lat(0.4), 201), 201, payment


def _payment_get(
    t: _Trace, client: Span, start: int, caller: Instance, payment: str
) -> tuple[int, int, None]:
    inst, server, handler = _payment_server(
        t,
        tp.PA_GET,
        tp.PA_CONTROLLER_GET,
        client,
        start,
        caller,
        "GET",
        f"/v1/payments/{payment}",
        "/v1/payments/{paymentId}",
    )
    span = _sql(
        t,
        tp.PA_SELECT_PAYMENT,
        inst,
        handler,
        handler.start_unix_nano + t.lat(0.3),
        "SELECT id, order_id, status, amount_cents, currency, stripe_charge_id "
        "FROM payments WHERE id = ?",
        t.lat(1.0),
    )
    end = _close(handler, span.end_unix_nano + t.lat(0.3))
    return _finish_server(server, True, end + t.lat(0.3), 200), 200, None


def _payment_refund(
    t: _Trace, client: Span, start: int, caller: Instance, order: int
) -> tuple[int, int, None]:
    inst, server, handler = _payment_server(
        t,
        tp.PA_REFUND,
        tp.PA_CONTROLLER_REFUND,
        client,
        start,
        caller,
        "POST",
        "/v1/refunds",
        "/v1/refunds",
    )
    span = _sql(
        t,
        tp.PA_SELECT_CHARGE,
        inst,
        handler,
        handler.start_unix_nano + t.lat(0.3),
        "SELECT id, stripe_charge_id, amount_cents FROM payments WHERE order_id = ?",
        t.lat(1.0),
    )
    cur, status = _stripe(
        t,
        tp.PA_STRIPE_REFUND,
        inst,
        handler,
        span.end_unix_nano + t.lat(0.4),
        "POST",
        "/v1/refunds",
        350.0,
    )
    if status >= 500:
        return _provider_failed(t, handler, server, cur + t.lat(0.3), status, "refund"), 502, None
    span = _sql(
        t,
        tp.PA_UPDATE_PAYMENT,
        inst,
        handler,
        cur + t.lat(0.3),
        "UPDATE payments SET status = ?, refunded_at = ? WHERE id = ?",
        t.lat(1.5),
    )
    end = _close(handler, span.end_unix_nano + t.lat(0.3))
    return _finish_server(server, True, end + t.lat(0.3), 200), 200, None


# --- checkout -------------------------------------------------------------------------------


def _checkout_server(
    t: _Trace,
    op: Operation,
    client: Span,
    start: int,
    caller: Instance,
    method: str,
    path: str,
    route: str,
) -> tuple[Instance, Span]:
    inst = t.pick("checkout")
    span = _server(
        t,
        op,
        inst,
        client,
        start,
        method,
        path,
        "",
        route,
        peer=caller.ip,
        user_agent=_USER_AGENTS[caller.spec.language],
    )
    return inst, span


def _update_order(
    t: _Trace, inst: Instance, parent: Span, start: int, order: int, status: str, extra: str = ""
) -> int:
    statement = (
        f"UPDATE orders SET status = '{status}'{extra}, updated_at = now() WHERE id = {order}"
    )
    span = _sql(t, tp.CO_UPDATE_ORDER, inst, parent, start, statement, t.lat(1.4))
    return span.end_unix_nano


def _checkout(
    t: _Trace, client: Span, start: int, caller: Instance, user: int
) -> tuple[int, int, None]:
    rng = t.rng
    co, server = _checkout_server(
        t, tp.CO_CHECKOUT, client, start, caller, "POST", "/v1/checkout", "/v1/checkout"
    )
    cur, status, items = _call(
        t,
        tp.CO_CALL_CART,
        co,
        server,
        start + t.lat(0.3),
        "GET",
        "cart",
        f"/v1/cart/{user}",
        _cart_get,
        user,
        1,
    )
    if status != 200:
        return (
            _finish_server(
                server, False, cur + t.lat(0.3), 502, f"cart: upstream answered {status}"
            ),
            502,
            None,
        )
    total = sum(quantity * price for _, quantity, price in items)
    order = tp.order_id(rng)
    statement = (
        "INSERT INTO orders (user_id, status, total_cents, currency, created_at) "
        f"VALUES ({user}, 'pending', {total}, 'EUR', now()) RETURNING id"
    )
    span = _sql(t, tp.CO_INSERT_ORDER, co, server, cur + t.lat(0.2), statement, t.lat(2.4))
    process = t.open(
        tp.CO_PROCESS,
        co,
        server,
        span.end_unix_nano + t.lat(0.1),
        f"process order {order}",
        {"app.order.id": order, "app.order.items": len(items)},
    )
    cur, code, _ = _grpc(
        t,
        tp.CO_GRPC_RESERVE,
        co,
        process,
        process.start_unix_nano + t.lat(0.1),
        "Reserve",
        _inventory_reserve,
        items,
        True,
    )
    if code != 0:
        cur = _update_order(t, co, process, cur + t.lat(0.2), order, "failed")
        if code == 9:
            _close(process, cur + t.lat(0.1))
            return _finish_server(server, False, cur + t.lat(0.3), 409), 409, None
        message = f"reserve stock: rpc error: code = {_GRPC_CODES[code].title().replace('_', '')}"
        _close(process, cur + t.lat(0.1), message)
        status = 500 if code == 13 else 503
        return _finish_server(server, False, cur + t.lat(0.3), status, message), status, None
    # shipping rates: an error here is logged and a flat rate used instead
    rates = _client(
        t,
        tp.CO_CALL_RATES,
        co,
        process,
        cur + t.lat(0.2),
        "POST",
        f"https://{tp.SHIPPING_HOST}/v1/rates/estimate",
        tp.SHIPPING_HOST,
        443,
    )
    cur = _finish_client(
        rates,
        False,
        rates.start_unix_nano + t.lat(210.0, 0.4),
        503 if rng.random() < 0.005 else 200,
    )
    cur, status, payment = _call(
        t,
        tp.CO_CALL_PAYMENT,
        co,
        process,
        cur + t.lat(0.3),
        "POST",
        "payment",
        "/v1/payments",
        _payment_charge,
        user,
        order,
        total,
    )
    if status != 201:
        cur, _, _ = _grpc(
            t,
            tp.CO_GRPC_RELEASE,
            co,
            process,
            cur + t.lat(0.2),
            "Release",
            _inventory_reserve,
            items,
            False,
        )
        if status == 402:
            cur = _update_order(t, co, process, cur + t.lat(0.2), order, "payment_declined")
            _close(process, cur + t.lat(0.1))
            return _finish_server(server, False, cur + t.lat(0.3), 402), 402, None
        cur = _update_order(t, co, process, cur + t.lat(0.2), order, "payment_error")
        message = f"payment: provider unavailable ({status} from payment service)"
        _exception(
            process,
            cur,
            "*payment.ProviderError",
            message,
            "goroutine 4821 [running]:\n"
            "github.com/example/shop/checkout/internal/orders.(*Service).Process(...)\n"
            "\t/src/internal/orders/service.go:142 +0x3a8",
        )
        _close(process, cur + t.lat(0.1), message)
        return _finish_server(server, False, cur + t.lat(0.3), 502, message), 502, None
    cur = _update_order(
        t, co, process, cur + t.lat(0.2), order, "paid", f", payment_id = '{payment}'"
    )
    rows = ",\n       ".join(
        f"({order}, '{tp.sku(number)}', {quantity}, {price})" for number, quantity, price in items
    )
    statement = f"INSERT INTO order_items (order_id, sku, quantity, price_cents)\nVALUES {rows}"
    span = _sql(
        t,
        tp.CO_INSERT_ITEMS,
        co,
        process,
        cur + t.lat(0.2),
        statement,
        t.lat(1.8 + 0.2 * len(items)),
    )
    cur = _publish(t, co, process, span.end_unix_nano + t.lat(0.1), order, user, total)
    _close(process, cur + t.lat(0.1))
    cur, _, _ = _call(
        t,
        tp.CO_CALL_CART_CLEAR,
        co,
        server,
        cur + t.lat(0.2),
        "DELETE",
        "cart",
        f"/v1/cart/{user}",
        _cart_clear,
        user,
    )
    return _finish_server(server, False, cur + t.lat(0.4), 201), 201, None


def _publish(
    t: _Trace, co: Instance, parent: Span, start: int, order: int, user: int, total: int
) -> int:
    rng = t.rng
    partition = order % 6
    span = t.open(
        tp.CO_PUBLISH,
        co,
        parent,
        start,
        f"{tp.ORDERS_TOPIC} publish",
        {
            "messaging.system": "kafka",
            "messaging.destination.name": tp.ORDERS_TOPIC,
            "messaging.operation.type": "publish",
            "messaging.kafka.message.key": str(order),
            "messaging.destination.partition.id": str(partition),
            "messaging.client.id": co.resource["k8s.pod.name"],
            "messaging.message.body.size": rng.randrange(380, 900),
            "server.address": tp.KAFKA_BROKER,
            "server.port": 9092,
        },
    )
    end = _close(span, start + t.lat(2.5, 0.6))
    t.messages.append(
        _OrderPlaced(
            trace_id=t.trace_id,
            span_id=span.span_id,
            produced_ns=start,
            consumed_ns=end + t.lat(25.0, 0.8),
            seed=rng.getrandbits(64),
            order=order,
            user=user,
            total_cents=total,
            partition=partition,
            offset=731_000 + t.slot,
        )
    )
    return end


def _order_get(
    t: _Trace, client: Span, start: int, caller: Instance, order: int
) -> tuple[int, int, None]:
    rng = t.rng
    co, server = _checkout_server(
        t, tp.CO_ORDER, client, start, caller, "GET", f"/v1/orders/{order}", "/v1/orders/{orderId}"
    )
    cur = start + t.lat(0.3)
    if t.effects.deploy_extra_ms:
        cur += t.lat(t.effects.deploy_extra_ms, 0.25)
    if co.resource["service.version"] == DEPLOY_VERSION:  # 1.43.0 moved the query to sqlc
        statement = (
            "-- name: GetOrder :one\n"
            "select id, user_id, status, total_cents, currency, payment_id, created_at\n"
            f"from orders\nwhere id = {order}"
        )
    else:
        statement = (
            "SELECT id, user_id, status, total_cents, currency, payment_id, created_at "
            f"FROM orders WHERE id = {order}"
        )
    span = _sql(t, tp.CO_SELECT_ORDER, co, server, cur, statement, t.lat(1.1))
    cur = span.end_unix_nano
    if rng.random() < 0.03:
        return _finish_server(server, False, cur + t.lat(0.3), 404), 404, None
    statement = f"SELECT sku, quantity, price_cents FROM order_items WHERE order_id = {order}"
    span = _sql(t, tp.CO_SELECT_ITEMS, co, server, cur + t.lat(0.1), statement, t.lat(1.0))
    payment = tp.uuid4(rng)
    cur, _, _ = _call(
        t,
        tp.CO_CALL_PAYMENT_GET,
        co,
        server,
        span.end_unix_nano + t.lat(0.1),
        "GET",
        "payment",
        f"/v1/payments/{payment}",
        _payment_get,
        payment,
    )
    if rng.random() < 0.45:
        url = f"https://{tp.SHIPPING_HOST}/v1/tracking?carrier_code=ups&tracking_number={tp.tracking_number(rng)}"
        tracking = _client(
            t, tp.CO_CALL_TRACKING, co, server, cur + t.lat(0.2), "GET", url, tp.SHIPPING_HOST, 443
        )
        cur = _finish_client(tracking, False, tracking.start_unix_nano + t.lat(180.0, 0.45), 200)
    return _finish_server(server, False, cur + t.lat(0.4), 200), 200, None


def _order_cancel(
    t: _Trace, client: Span, start: int, caller: Instance, order: int
) -> tuple[int, int, None]:
    rng = t.rng
    co, server = _checkout_server(
        t,
        tp.CO_CANCEL,
        client,
        start,
        caller,
        "POST",
        f"/v1/orders/{order}/cancel",
        "/v1/orders/{orderId}/cancel",
    )
    statement = (
        "SELECT id, user_id, status, total_cents, currency, payment_id, created_at "
        f"FROM orders WHERE id = {order}"
    )
    span = _sql(t, tp.CO_SELECT_ORDER, co, server, start + t.lat(0.3), statement, t.lat(1.1))
    cur = span.end_unix_nano
    if rng.random() < 0.2:  # already shipped
        return _finish_server(server, False, cur + t.lat(0.3), 409), 409, None
    cur, status, _ = _call(
        t,
        tp.CO_CALL_REFUND,
        co,
        server,
        cur + t.lat(0.2),
        "POST",
        "payment",
        "/v1/refunds",
        _payment_refund,
        order,
    )
    if status != 200:
        message = f"refund: provider unavailable ({status} from payment service)"
        return _finish_server(server, False, cur + t.lat(0.3), 502, message), 502, None
    items = [(tp.product_number(rng), rng.randrange(1, 3), 0) for _ in range(rng.randrange(1, 4))]
    cur, _, _ = _grpc(
        t,
        tp.CO_GRPC_RELEASE,
        co,
        server,
        cur + t.lat(0.2),
        "Release",
        _inventory_reserve,
        items,
        False,
    )
    cur = _update_order(t, co, server, cur + t.lat(0.2), order, "cancelled")
    return _finish_server(server, False, cur + t.lat(0.3), 200), 200, None


# --- notification ---------------------------------------------------------------------------

_SELECT_USER = """
        SELECT u.email, u.first_name, u.locale
          FROM users u
          JOIN orders o ON o.user_id = u.id
         WHERE o.id = %(order_id)s
        """


def _notification(t: _Trace, message: _OrderPlaced) -> str:
    """The notification service consumes ``orders.placed`` and mails a confirmation."""
    rng = t.rng
    inst = t.pick("notification")
    root = t.open(
        tp.NO_CONSUME,
        inst,
        None,
        t.start_ns,
        f"{tp.ORDERS_TOPIC} process",
        {
            "messaging.system": "kafka",
            "messaging.destination": tp.ORDERS_TOPIC,
            "messaging.destination_kind": "topic",
            "messaging.operation": "process",
            "messaging.kafka.message_key": str(message.order),
            "messaging.kafka.partition": message.partition,
            "messaging.kafka.message_offset": message.offset,
            "messaging.kafka.consumer_group": "notification",
            "app.order.amount_cents": message.total_cents,
        },
    )
    root.links.append(
        SpanLink(message.trace_id, message.span_id, {"messaging.operation": "publish"})
    )
    span = _sql(t, tp.NO_SELECT_USER, inst, root, t.start_ns + t.lat(0.4), _SELECT_USER, t.lat(1.3))
    key = f"notified:order:{message.order}"
    span, ok = _redis(
        t,
        tp.NO_DEDUPE,
        inst,
        root,
        span.end_unix_nano + t.lat(0.2),
        "SET",
        f"SET {key} 1 NX EX 86400",
    )
    cur = span.end_unix_nano
    if ok and rng.random() < 0.01:  # a redelivered message: already notified
        _close(root, cur + t.lat(0.2))
        return "notification"
    render = t.open(
        tp.NO_RENDER,
        inst,
        root,
        cur + t.lat(0.1),
        "render email order_confirmation",
        {"template": "order_confirmation"},
    )
    cur = _close(render, render.start_unix_nano + t.lat(6.0, 0.4))
    url = f"https://{tp.MAIL_RELAY_HOST}/v3/mail/send"
    mail = _client(
        t, tp.NO_SEND_MAIL, inst, root, cur + t.lat(0.2), "POST", url, tp.MAIL_RELAY_HOST, 443
    )
    failed = rng.random() < 0.01
    cur = _finish_client(
        mail, True, mail.start_unix_nano + t.lat(140.0, 0.5), 503 if failed else 202
    )
    end = cur + t.lat(0.4)
    if failed:
        error = f"503 Server Error: Service Unavailable for url: {url}"
        _exception(
            root,
            end,
            "requests.exceptions.HTTPError",
            error,
            "Traceback (most recent call last):\n"
            '  File "/app/notification/handlers.py", line 58, in on_order_placed\n'
            "    response.raise_for_status()\n"
            '  File "/usr/local/lib/python3.11/site-packages/requests/models.py", line 1024, '
            "in raise_for_status\n"
            "    raise HTTPError(http_error_msg, response=self)\n"
            f"requests.exceptions.HTTPError: {error}",
        )
        _close(root, end, error)
    else:
        _close(root, end)
    return "notification"


# --- the traffic mix ------------------------------------------------------------------------

_MIX: tuple[tuple[float, Callable[[_Trace], str]], ...] = (
    (0.26, _scenario_browse),
    (0.06, _scenario_home),
    (0.09, _scenario_category),
    (0.10, _scenario_search),
    (0.08, _scenario_cart_view),
    (0.08, _scenario_cart_add),
    (0.08, _scenario_checkout),
    (0.06, _scenario_order_status),
    (0.01, _scenario_order_cancel),
    (0.10, _scenario_static),
    (0.08, _scenario_health),
)
_SCENARIOS = [scenario for _, scenario in _MIX]
_SCENARIO_CUMULATIVE = list(itertools.accumulate(weight for weight, _ in _MIX))[:-1]
