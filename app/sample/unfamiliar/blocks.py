"""The building blocks of a composed system: ids, queries, cache calls, routes, call sites.

``Blocks`` holds what composing a system shares: its ``random.Random``, the ``System`` whose
operations it registers, the id pools by name, and the choices that must stay fixed once
made (a service's statement is written by hand or by its ORM, once and for all, so that its
spans differ only in literals).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from itertools import accumulate

from app.sample.unfamiliar import ids
from app.sample.unfamiliar.sql import Query
from app.sample.unfamiliar.steps import (
    Endpoint,
    GrpcCall,
    GrpcMethod,
    HttpCall,
    RedisStep,
    Route,
    SqlStep,
    Step,
)
from app.sample.unfamiliar.system import Position, Service, System
from connectors.spans import SpanKind

_S, _C = SpanKind.SERVER, SpanKind.CLIENT

Stable = tuple[tuple[str, str], ...]
"""The stable positions of an operation and their values: ``(("version", "v2"),)``."""


def make_endpoint(routes: Sequence[Route | GrpcMethod], weights: Sequence[float]) -> Endpoint:
    return Endpoint(tuple(routes), tuple(accumulate(weights)))


def fill(text: str, stable: Stable) -> str:
    """``text`` with each ``<name>`` stable position written out."""
    for name, value in stable:
        text = text.replace(f"<{name}>", value)
    return text


def client_what(server_what: str, host: str) -> str:
    """What a caller's span of a call to a route does: ``GET /v1/x`` becomes ``GET host /v1/x``."""
    method, path = server_what.split(" ", 1)
    return f"{method} {host} {path}"


class Blocks:
    """Makes the parts of a system and registers their operations."""

    def __init__(self, seed: int | str, pool_min: int, pool_max: int, skew_max: float) -> None:
        self.rng = random.Random(f"unfamiliar:{seed}:system")
        self.system = System(seed)
        self.pool_range = (math.log(pool_min), math.log(pool_max))
        self.skew_max = skew_max
        self.positions: dict[str, Position] = {}
        self.sql_steps: dict[tuple[str, Query], SqlStep] = {}
        self.sql_queries: dict[str, Query] = {}
        self.statements: dict[str, int] = {}
        self.callers: list[Service] = []
        """Services that make HTTP calls, to pick one that leaves out the URL."""

    def position(self, name: str, shape: ids.IdShape) -> Position:
        rng = self.rng
        size = round(math.exp(rng.uniform(*self.pool_range)))
        pool = ids.make_pool(rng, name, shape, size, rng.uniform(1.0, self.skew_max))
        self.system.pools[name] = pool
        position = self.positions[name] = Position(name, pool)
        return position

    def sql(
        self, service: Service, query: Query, *, miss_rate: float = 0.0, median_ms: float = 1.0
    ) -> SqlStep:
        """The service's step for ``query``, written by hand or by its ORM (drawn once)."""
        step = self.sql_steps.get((service.name, query))
        if step is not None:
            return step
        db = service.db
        assert db is not None, f"{service.name} has no database"
        # A service's first statement comes from its ORM, its second is written by hand.
        written = self.statements[service.name] = self.statements.get(service.name, 0) + 1
        if written <= 2:
            style = db.orm if written == 1 else "hand"
        else:
            style = "hand" if self.rng.random() < 0.4 else db.orm
        if style == "dollar" and any(kind == "ints" for _, kind in query.where):
            style = "hand"  # node-postgres and pgx users write their IN lists out by hand
        # a statement shows its ids only if written by hand, and recorded at all
        recorded = style == "hand" and service.habits.db_statements
        names = query.position_names() if recorded else ()
        positions = tuple(self.positions[n] for n in names)
        if db.shard is not None:
            positions += (db.shard,)
        if service.habits.db_statements:
            op = self.system.op(service, _C, f"{db.system} {query.summary()}", positions)
            if self.sql_queries.setdefault(op.label, query) != query:
                raise ValueError(f"two statements of {service.name} read {op.label!r}")
        else:
            # Spans that record no statement carry its verb and table alone: statements
            # that share both are one operation as far as anyone reading the spans can tell.
            what = f"{db.system} {query.verb} {query.table}"
            op = self.system.op(service, _C, what, positions)
        step = self.sql_steps[(service.name, query)] = SqlStep(
            op, query, style, median_ms, miss_rate
        )
        return step

    def redis(
        self,
        service: Service,
        command: str,
        key: str,
        positions: tuple[Position, ...],
        args: str = "",
        stable: Stable = (),
    ) -> RedisStep:
        op = self.system.op(service, _C, f"redis {command} {key}", positions, stable)
        return RedisStep(op, command, fill(key, stable), args)

    def route(
        self,
        service: Service,
        method: str,
        segments: list[str],
        stable: Stable,
        positions: tuple[Position, ...],
        *,
        sibling_of: str = "",
        ok_status: int = 200,
        query: str = "",
    ) -> Route:
        """A server route; ``segments`` may hold ``<name>`` stable and ``{name}`` id parts."""
        template = f"{method} /" + "/".join(segments)
        op = self.system.op(service, _S, template, positions, stable, sibling_of)
        concrete = tuple(fill(s, stable) for s in segments)
        return Route(service, op, method, concrete, positions, [], ok_status, query)

    def http_call(self, caller: Service, endpoint: Endpoint) -> HttpCall:
        """A call site; the caller gets one client operation per route it may reach."""
        ops = []
        for route in endpoint.routes:
            host = route.service.host
            sibling_of = ""
            if route.op.sibling_of:
                beside = self.system.operations[route.op.sibling_of]
                sibling_of = f"{caller.name}|client|{client_what(beside.what, host)}"
            template = client_what(route.op.family.split("|", 2)[2], host)
            op = self.system.op(caller, _C, template, route.positions, route.op.stable, sibling_of)
            ops.append(op)
        self.callers.append(caller)
        return HttpCall(endpoint, tuple(ops))

    def grpc_call(self, caller: Service, endpoint: Endpoint) -> GrpcCall:
        ops = tuple(
            self.system.op(caller, _C, m.op.family.split("|", 2)[2], (), m.op.stable)
            for m in endpoint.routes
        )
        return GrpcCall(endpoint, ops)

    def call(self, caller: Service, endpoint: Endpoint) -> Step:
        if isinstance(endpoint.routes[0], GrpcMethod):
            return self.grpc_call(caller, endpoint)
        return self.http_call(caller, endpoint)

    def versions(self, two: bool) -> tuple[tuple[str, float], ...]:
        if two:
            old = self.rng.choice(("v1", "v2"))
            new = "v2" if old == "v1" else "v3"
            share = self.rng.uniform(0.5, 0.7)
            return ((old, share), (new, 1.0 - share))
        return ((self.rng.choice(("v1", "v1", "v2")), 1.0),)
