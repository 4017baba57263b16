"""What a backend serves: one resource, over one or two API versions.

An HTTP backend's resource has an id route (cache-aside read: Redis, then the database),
literal siblings beside it (``GET /v1/carts/search`` beside ``GET /v1/carts/{cart}``, each
a statement of its own), a child collection and a write. A gRPC backend serves the same work
as ``Get``, ``List`` and ``Update`` methods of a service in one or two package versions.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.sample.unfamiliar import ids
from app.sample.unfamiliar.blocks import Blocks, fill, make_endpoint
from app.sample.unfamiliar.sql import Query
from app.sample.unfamiliar.steps import CacheAside, Endpoint, GrpcMethod, Route, Step
from app.sample.unfamiliar.system import Position, Service
from connectors.spans import SpanKind

_S = SpanKind.SERVER

DOMAINS = (
    ("ledger", "entries", "entry", "postings"),
    ("acct", "accounts", "account", "members"),
    ("billing", "invoices", "invoice", "lines"),
    ("catalog", "listings", "listing", "photos"),
    ("fulfil", "parcels", "parcel", "scans"),
    ("basket", "carts", "cart", "items"),
    ("booking", "bookings", "booking", "guests"),
    ("docs", "documents", "document", "revisions"),
    ("support", "tickets", "ticket", "replies"),
    ("media", "playlists", "playlist", "tracks"),
    ("fleet", "devices", "device", "readings"),
    ("loyalty", "rewards", "reward", "redemptions"),
)
"""(service base name, resource, its singular, its child collection)."""

LITERAL_SIBLINGS = ("search", "me", "recent", "export", "count", "featured", "archived", "stats")


@dataclass
class Resource:
    """What a backend serves: endpoints by name (``get``, ``children``, ``write``), and the
    routes or methods further work (calls, messages) may be added to."""

    service: Service
    plural: str
    singular: str
    id: Position
    endpoints: dict[str, Endpoint]
    reads: list[Route | GrpcMethod]
    writes: list[Route | GrpcMethod]


def build_resource(
    b: Blocks,
    service: Service,
    domain: tuple[str, str, str, str],
    shape: ids.IdShape,
    two_versions: bool,
) -> Resource:
    """A backend's resource: its id, cache, queries and endpoints, over its versions."""
    rng = b.rng
    _, plural, singular, child = domain
    if shape.name.startswith("prefixed:"):
        shape = ids.prefixed_base36(singular[0] + "_")
    ident = b.position(singular, shape)
    key_column = rng.choice(("public_id", f"{singular}_key", "handle", "ref"))
    by_key = ((key_column, f"pos:{singular}"),)
    cache_key = f"{singular}:{{{singular}}}"
    setter = rng.choice((("SETEX", " 300 ?"), ("SET", " ? EX 300")))
    read = CacheAside(
        b.redis(service, "GET", cache_key, (ident,)),
        (
            b.sql(
                service,
                Query("SELECT", plural, ("id", key_column, "status", "updated_at"), by_key),
                miss_rate=0.03,
            ),
        ),
        b.redis(service, setter[0], cache_key, (ident,), setter[1]),
        rng.uniform(0.5, 0.8),
    )
    children_steps: list[Step] = [
        b.sql(
            service,
            Query(
                "SELECT",
                f"{singular}_{child}",
                ("id", "position", "payload"),
                ((f"{singular}_ref", f"pos:{singular}"),),
                order_by="position",
            ),
            miss_rate=0.02,
        ),
        b.sql(service, Query("SELECT", "attachments", ("id", "url"), (("owner_id", "ints"),))),
    ]
    write_steps: list[Step] = [
        b.sql(
            service,
            Query(
                "INSERT",
                f"{singular}_{child}",
                assign=(
                    (f"{singular}_ref", f"pos:{singular}"),
                    ("amount_cents", "int"),
                    ("created_by", "pos:user"),
                ),
            ),
        ),
        b.sql(
            service,
            Query(
                "UPDATE",
                plural,
                where=by_key,
                assign=(("revision", "int"), ("updated_at", "now")),
            ),
        ),
        b.redis(service, "DEL", cache_key, (ident,)),
    ]
    versions = b.versions(two_versions)
    if service.role == "grpc":
        return _grpc_resource(
            b, service, domain, ident, versions, read, children_steps, write_steps
        )
    siblings = rng.sample(LITERAL_SIBLINGS, rng.choice((1, 2, 2)))
    shares = [rng.uniform(0.1, 0.3) for _ in siblings]
    sibling_steps = [b.sql(service, _sibling_query(s, plural, key_column)) for s in siblings]
    gets: list[Route] = []
    get_weights: list[float] = []
    children: list[Route] = []
    writes: list[Route] = []
    for version, weight in versions:
        stable = (("version", version),)
        id_route = b.route(
            service, "GET", ["<version>", plural, f"{{{singular}}}"], stable, (ident,)
        )
        id_route.steps.append(read)
        gets.append(id_route)
        get_weights.append(weight * (1.0 - sum(shares)))
        for literal, share, step in zip(siblings, shares, sibling_steps, strict=True):
            sibling = b.route(
                service,
                "GET",
                ["<version>", plural, literal],
                stable,
                (),
                sibling_of=id_route.op.label,
                query="search" if literal == "search" else "",
            )
            sibling.steps.append(step)
            gets.append(sibling)
            get_weights.append(weight * share)
        path = ["<version>", plural, f"{{{singular}}}", child]
        route = b.route(service, "GET", path, stable, (ident,))
        route.steps.extend(children_steps)
        children.append(route)
        route = b.route(service, "POST", path, stable, (ident,), ok_status=201)
        route.steps.extend(write_steps)
        writes.append(route)
    weights = [w for _, w in versions]
    endpoints = {
        "get": make_endpoint(gets, get_weights),
        "children": make_endpoint(children, weights),
        "write": make_endpoint(writes, weights),
    }
    return Resource(service, plural, singular, ident, endpoints, list(children), list(writes))


def _grpc_resource(
    b: Blocks,
    service: Service,
    domain: tuple[str, str, str, str],
    ident: Position,
    versions: tuple[tuple[str, float], ...],
    read: Step,
    children_steps: list[Step],
    write_steps: list[Step],
) -> Resource:
    """A backend that speaks gRPC: Get, List and Update methods in each package version."""
    base, plural, singular, _ = domain
    parts = service.name.split(".")
    org = parts[1] if len(parts) == 3 else b.rng.choice(("acme", "globex", "initech"))
    rpc = f"{org}.{base}.<version>.{base.capitalize()}Service"
    methods: dict[str, list[GrpcMethod]] = {"get": [], "children": [], "write": []}
    names = {
        "get": f"Get{singular.capitalize()}",
        "children": f"List{plural.capitalize()}",
        "write": f"Update{singular.capitalize()}",
    }
    steps = {"get": [read], "children": children_steps, "write": write_steps}
    for version, _ in versions:
        stable = (("version", version),)
        for kind, method in names.items():
            op = b.system.op(service, _S, f"grpc {rpc}/{method}", (), stable)
            methods[kind].append(
                GrpcMethod(service, op, fill(rpc, stable), method, list(steps[kind]))
            )
    weights = [w for _, w in versions]
    endpoints = {kind: make_endpoint(found, weights) for kind, found in methods.items()}
    return Resource(
        service,
        plural,
        singular,
        ident,
        endpoints,
        list(methods["children"]),
        list(methods["write"]),
    )


def _sibling_query(literal: str, table: str, key_column: str) -> Query:
    """What a literal route beside the id route reads; each a statement of its own."""
    owner = (("owner", "pos:user"),)
    if literal == "search":
        return Query(
            "SELECT", table, ("id", "title"), (("title", "word"),), order_by="updated_at", limit=20
        )
    if literal == "me":
        return Query(
            "SELECT", table, ("id", key_column, "status"), owner, order_by="updated_at", limit=50
        )
    if literal == "recent":
        return Query(
            "SELECT",
            table,
            ("id", key_column),
            (("tenant_id", "int"),),
            order_by="created_at",
            limit=25,
        )
    if literal == "export":
        return Query("SELECT", table, ("*",), owner)
    if literal == "count":
        return Query("SELECT", table, ("count(*)",), owner)
    if literal == "featured":
        return Query(
            "SELECT",
            table,
            ("id", "title"),
            (("status", "const:featured"),),
            order_by="rank",
            limit=12,
        )
    if literal == "archived":
        return Query("SELECT", table, ("id", key_column), (("status", "const:archived"), *owner))
    return Query("SELECT", table, ("status", "count(*)"), owner)
