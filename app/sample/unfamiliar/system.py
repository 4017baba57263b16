"""What a composed system is made of: services, their habits, pods, and true operations.

A true operation is what a careful person would call one thing a service does: two spans
belong to the same operation when they differ only in id values (and literals, timings,
status). A position that takes a few stable values (an API version, a locale, a region) is
not an id: each of its values makes an operation of its own, so the value is written into
the operation's label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.sample.unfamiliar.ids import IdPool
from connectors.spans import SpanKind


@dataclass(frozen=True)
class Position:
    """A variable position of an operation: its placeholder name and the pool it draws from."""

    name: str
    pool: IdPool

    def describe(self) -> str:
        return f"{{{self.name}}}: {self.pool.describe()}"


@dataclass(frozen=True)
class Operation:
    """One true operation; every span of it carries ``label`` as its truth.

    ``label`` is ``service|kind|what``; ids appear in ``what`` as ``{name}`` placeholders
    where the span's name or main attribute shows them (a database shard in the host does
    not), stable values are written out. ``positions`` lists every variable position of
    the operation's spans. ``family`` is the label with each stable value replaced by
    ``<name>``, so the operations that differ only in a stable value share a family;
    ``stable`` holds those values. ``sibling_of`` names the label of the id route a literal
    route sits beside (``GET /v1/carts/search`` beside ``GET /v1/carts/{cart}``).
    """

    label: str
    service: str
    kind: SpanKind
    what: str
    family: str
    positions: tuple[Position, ...] = ()
    stable: tuple[tuple[str, str], ...] = ()
    sibling_of: str = ""


@dataclass(frozen=True)
class Habits:
    """How a service's instrumentation writes its spans; one service may run several
    libraries, so each role (HTTP server, HTTP client, database, messaging) has its own
    choice between the legacy and the current semantic conventions.

    server_name: ``route`` (``GET /v1/carts/:cart``), ``route_only`` (``/v1/carts/<cart>``),
    ``method`` (``GET``), ``http_method`` (``HTTP GET``) or ``raw_path`` (``GET /v1/carts/
    gtmcbtxbxu``). client_name: ``method``, ``http_method`` or ``raw_path``. db_name:
    ``op_table`` (``SELECT carts``), ``op`` (``SELECT``) or ``db`` (the database's name).
    redis_name: ``command`` (``GET``), ``lower`` (``get``) or ``command_key`` (``GET cart:x``).
    """

    server_legacy: bool
    client_legacy: bool
    db_legacy: bool
    messaging_legacy: bool
    server_name: str
    route_style: str
    records_route: bool
    client_name: str
    client_url: bool
    db_name: str
    db_statements: bool
    sqlcommenter: bool
    redis_name: str

    @property
    def style(self) -> str:
        """``legacy``, ``current`` or ``mixed``: which conventions the service's spans use."""
        flags = {self.server_legacy, self.client_legacy, self.db_legacy, self.messaging_legacy}
        if len(flags) == 2:
            return "mixed"
        return "legacy" if self.server_legacy else "current"


@dataclass(frozen=True)
class Database:
    """A SQL database a service owns. A sharded one is reached at ``{shard}.db.internal``,
    the shard depending on the request, so the host is a variable position of its own."""

    system: str
    name: str
    host: str
    port: int
    orm: str
    shard: Position | None = None


@dataclass
class Service:
    """One service: its name, role in the system, instrumentation and pods.

    role: ``edge`` (takes requests from outside), ``http`` or ``grpc`` (a backend), or
    ``worker`` (consumes queues).
    """

    name: str
    role: str
    language: str
    habits: Habits
    host: str
    port: int
    scopes: dict[str, tuple[str, str]]
    db: Database | None = None
    pods: list[Pod] = field(default_factory=list)
    health_path: str = "/healthz"

    def scope(self, role: str) -> tuple[str, str]:
        return self.scopes.get(role) or self.scopes["app"]


@dataclass(frozen=True, slots=True)
class Pod:
    """One instance of a service; its spans share ``resource`` (read-only)."""

    service: Service
    resource: dict[str, Any]
    ip: str
    ordinal: int


class System:
    """A composed system: its services and every operation they can perform, by label."""

    def __init__(self, seed: int | str) -> None:
        self.seed = seed
        self.services: dict[str, Service] = {}
        self.operations: dict[str, Operation] = {}
        self.pools: dict[str, IdPool] = {}

    def op(
        self,
        service: Service,
        kind: SpanKind,
        template: str,
        positions: tuple[Position, ...] = (),
        stable: tuple[tuple[str, str], ...] = (),
        sibling_of: str = "",
    ) -> Operation:
        """The operation whose ``what`` is ``template`` with each ``<name>`` stable position
        written out; an existing one is returned when it is the same operation."""
        what = template
        for name, value in stable:
            what = what.replace(f"<{name}>", value)
        label = f"{service.name}|{kind.label}|{what}"
        existing = self.operations.get(label)
        if existing is not None:
            if existing.positions != positions or existing.sibling_of != sibling_of:
                raise ValueError(f"operation {label!r} is defined twice, differently")
            return existing
        family = f"{service.name}|{kind.label}|{template}"
        op = Operation(label, service.name, kind, what, family, positions, stable, sibling_of)
        self.operations[label] = op
        return op

    def positions(self) -> dict[str, tuple[Position, ...]]:
        """Label -> the variable positions of that operation, for readable test failures."""
        return {label: op.positions for label, op in self.operations.items() if op.positions}
