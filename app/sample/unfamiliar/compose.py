"""Composing a system at random: who serves what, who calls whom, with which ids.

Five to eight services: an edge service that takes requests from outside, backends (HTTP or
gRPC) that each own a resource, a database and a share of a Redis cache, and a worker that
consumes Kafka and RabbitMQ. Each backend resource has an id route with literal siblings
(``GET /v1/carts/{cart}`` beside ``GET /v1/carts/search``), a child collection and a write;
some are served under two API versions. The edge mirrors every backend route under
``/api`` and serves localised guide pages; each page view (a GET) publishes an event to a
per-tenant Kafka topic. Backends call later backends (never earlier ones, so calls never
loop), a payment provider in one of three regions, a shipping API and a job queue.

Everything is drawn from one ``random.Random`` seeded by the system seed; the choices that
tests rely on (naming habits, conventions, missing attributes) are forced onto some service
when the draw did not make them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import accumulate

from app.sample.unfamiliar import ids
from app.sample.unfamiliar.blocks import Blocks, fill, make_endpoint
from app.sample.unfamiliar.resources import DOMAINS, Resource, build_resource
from app.sample.unfamiliar.services import (
    LANGUAGES,
    NAMINGS,
    build_service,
    force_habit,
    give_database,
    orm_style,
    service_name,
)
from app.sample.unfamiliar.sql import Query
from app.sample.unfamiliar.steps import (
    CacheAside,
    Choice,
    Endpoint,
    GrpcMethod,
    Internal,
    KafkaConsumer,
    KafkaPublish,
    OutsideCall,
    RabbitPublish,
    Route,
    Step,
)
from app.sample.unfamiliar.system import Database, Service, System
from connectors.spans import SpanKind

_S, _C, _I = SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL

EDGE_BASES = ("gateway", "bff", "storefront", "edge", "portal")
WORKER_BASES = ("worker", "jobs", "relay", "pipeline")
LOCALES = (("en-US", 0.28), ("de-DE", 0.18), ("fr-FR", 0.18), ("ja-JP", 0.18), ("pt-BR", 0.18))
PAY_REGIONS = (("eu", 0.45), ("us", 0.35), ("ap", 0.2))
PAY_HOST = "api.<region>.payrail.example"
SHIPPING_HOST = "api.parcelgrid.example"
STORAGE_HOST = "objects.blobhub.example"


@dataclass(frozen=True)
class Entry:
    """A kind of request that arrives from outside, and its share of the traffic."""

    name: str
    endpoint: Endpoint
    weight: float
    probe: bool = False


@dataclass(frozen=True)
class Composed:
    """A system and the requests that arrive at it."""

    system: System
    entries: tuple[Entry, ...]
    cum_weights: tuple[float, ...]


def compose_system(seed: int | str, pool_min: int, pool_max: int, skew_max: float) -> Composed:
    """The system of ``seed``; pools hold ``pool_min`` to ``pool_max`` values each."""
    return _Composer(seed, pool_min, pool_max, skew_max).compose()


class _Composer(Blocks):
    """Blocks, and the plan that puts them together into a system."""

    def __init__(self, seed: int | str, pool_min: int, pool_max: int, skew_max: float) -> None:
        super().__init__(seed, pool_min, pool_max, skew_max)
        self.page_routes: list[Route] = []
        """Edge routes that publish a page-view event."""

    def compose(self) -> Composed:
        rng = self.rng
        count = rng.randint(5, 8)
        domains = rng.sample(DOMAINS, count - 2)
        namings = ["kebab", "snake", "dotted"] + [rng.choice(NAMINGS) for _ in range(count - 3)]
        styles = ["current", "legacy", "mixed"] + [
            rng.choice(("current", "legacy", "mixed")) for _ in range(count - 3)
        ]
        protocols = ["http", "grpc"] + [rng.choice(("http", "http", "grpc")) for _ in domains[2:]]
        for items in (namings, styles, protocols):
            rng.shuffle(items)
        if styles[0] == "legacy":  # the edge shows the current conventions somewhere
            other = next(i for i, style in enumerate(styles) if style != "legacy")
            styles[0], styles[other] = styles[other], styles[0]
        namespace = rng.choice(("prod", "apps", "platform"))

        def make(base: str, role: str, index: int) -> Service:
            name = service_name(rng, base, namings[index], role)
            service = build_service(
                rng, name, role, rng.choice(LANGUAGES), styles[index], namespace
            )
            self.system.services[name] = service
            return service

        edge = make(rng.choice(EDGE_BASES), "edge", 0)
        backends = [make(d[0], protocols[i], i + 1) for i, d in enumerate(domains)]
        worker = make(rng.choice(WORKER_BASES), "worker", count - 1)

        for position_name, shape in (
            ("user", ids.USERNAME),
            ("tenant", ids.TENANT),
            ("cell", ids.CELL),
            ("job", ids.NANOID),
            ("guide", ids.SLUG),
            ("shipment", rng.choice((ids.NANOID, ids.prefixed_base36("shp_")))),
        ):
            self.position(position_name, shape)

        self.force_database_habits([*backends, worker])
        self.databases(backends, worker)
        resources = [
            build_resource(self, service, domain, shape, two_versions)
            for service, domain, shape, two_versions in zip(
                backends,
                domains,
                self.id_shapes(len(backends)),
                self.version_plan(len(backends)),
                strict=True,
            )
        ]
        entries = self.edge(edge, resources)
        self.backend_calls(resources)
        self.messaging(edge, worker, resources)
        self.outside_calls(resources)
        self.force_habits(edge, backends)
        entries += self.probes([edge, *backends, worker])
        weights = [entry.weight for entry in entries]
        return Composed(self.system, tuple(entries), tuple(accumulate(weights)))

    def id_shapes(self, count: int) -> list[ids.IdShape]:
        """One id shape per backend resource: the three that look least like ids first."""
        rng = self.rng
        shapes: list[ids.IdShape] = [ids.lowercase(10), ids.prefixed_base36("c_"), ids.SLUG]
        while len(shapes) < count:
            shapes.append(
                rng.choice((ids.lowercase(rng.randint(8, 12)), ids.SLUG, ids.NANOID, ids.SHARD))
            )
        shapes = shapes[:count]
        rng.shuffle(shapes)
        return shapes

    def version_plan(self, count: int) -> list[bool]:
        """Which resources are served under two API versions: one or two of them."""
        plan = [False] * count
        for i in self.rng.sample(range(count), self.rng.choice((1, 1, 2))):
            plan[i] = True
        return plan

    def databases(self, backends: list[Service], worker: Service) -> None:
        rng = self.rng
        systems = ["postgresql", "mysql"] + [
            rng.choice(("postgresql", "mysql")) for _ in backends[2:]
        ]
        rng.shuffle(systems)
        sharded = rng.randrange(len(backends))
        for i, (service, system) in enumerate(zip(backends, systems, strict=True)):
            base = service.host.split(".")[0].replace("-", "_")
            shard = None
            if i == sharded:
                shard = self.position("shard", rng.choice((ids.SHARD, ids.CELL)))
            port = 5432 if system == "postgresql" else 3306
            host = f"{system[:5]}-{base.replace('_', '-')}.db.internal"
            orm = orm_style(service.language, system)
            give_database(service, Database(system, base, host, port, orm, shard))
        orm = orm_style(worker.language, "postgresql")
        give_database(worker, Database("postgresql", "jobs", "pg-jobs.db.internal", 5432, orm))

    def edge(self, edge: Service, resources: list[Resource]) -> list[Entry]:
        """The edge's routes: each backend route mirrored under ``/api``, and guide pages."""
        rng = self.rng
        user = self.positions["user"]
        session = self.redis(edge, "HGETALL", "session:{user}:prefs", (user,))
        entries: list[Entry] = []
        for res in resources:
            signed_in = rng.random() < 0.6
            for kind, weight in (("get", 3.0), ("children", 1.5), ("write", 1.0)):
                endpoint = res.endpoints[kind]
                if kind == "children" and res.service.role == "grpc":
                    weight = 1.0  # a literal sibling of the id route: a quarter of the calls
                if isinstance(endpoint.routes[0], GrpcMethod):
                    routes, route_weights = self.edge_grpc_routes(edge, res, kind, endpoint)
                else:
                    routes, route_weights = self.edge_http_routes(edge, endpoint)
                for route in routes:
                    if signed_in or kind == "write":
                        route.steps.insert(0, session)
                if kind == "get":
                    self.page_routes.extend(routes)
                    others = [r for r in resources if r is not res]
                    if rng.random() < 0.6:
                        # the page also shows something from another backend
                        companion = self.call(edge, rng.choice(others).endpoints["get"])
                        for route in routes:
                            route.steps.append(companion)
                mirrored = make_endpoint(routes, route_weights)
                entries.append(Entry(f"{res.plural} {kind}", mirrored, weight))
        guide = self.positions["guide"]
        pages = []
        for locale, _ in LOCALES:
            stable = (("locale", locale),)
            page = self.route(edge, "GET", ["<locale>", "guides", "{guide}"], stable, (guide,))
            render = Internal(
                self.system.op(edge, _I, "render guide <locale>", (), stable),
                f"render guide {locale}",
                (("app.locale", locale), ("app.template", "guide.html")),
                median_ms=12.0,
            )
            key = "page:<locale>:{guide}"
            page.steps.append(
                CacheAside(
                    self.redis(edge, "GET", key, (guide,), stable=stable),
                    (render,),
                    self.redis(edge, "SET", key, (guide,), " ? EX 600", stable=stable),
                    0.4,
                )
            )
            pages.append(page)
            self.page_routes.append(page)
        entries.append(Entry("guides", make_endpoint(pages, [w for _, w in LOCALES]), 3.0))
        return entries

    def edge_http_routes(
        self, edge: Service, endpoint: Endpoint
    ) -> tuple[list[Route], list[float]]:
        routes: list[Route] = []
        mirror_of: dict[str, str] = {}
        for target in endpoint.routes:
            template = target.op.family.split("|", 2)[2].split(" ", 1)[1]
            segments = ["api", *template.strip("/").split("/")]
            route = self.route(
                edge,
                target.method,
                segments,
                target.op.stable,
                target.positions,
                sibling_of=mirror_of.get(target.op.sibling_of, ""),
                ok_status=target.ok_status,
                query=target.query,
            )
            mirror_of[target.op.label] = route.op.label
            route.steps.append(self.http_call(edge, make_endpoint([target], [1.0])))
            routes.append(route)
        weights = [
            b - a
            for a, b in zip((0.0, *endpoint.cum_weights[:-1]), endpoint.cum_weights, strict=True)
        ]
        return routes, weights

    def edge_grpc_routes(
        self, edge: Service, res: Resource, kind: str, endpoint: Endpoint
    ) -> tuple[list[Route], list[float]]:
        """``GET /api/{plural}/{id}`` calls Get; a literal sibling calls List; PUT calls Update."""
        call = self.grpc_call(edge, endpoint)
        ident = res.id
        id_segments = ["api", res.plural, f"{{{res.singular}}}"]
        if kind == "get":
            route = self.route(edge, "GET", id_segments, (), (ident,))
        elif kind == "write":
            route = self.route(edge, "PUT", id_segments, (), (ident,))
        else:
            literal = self.rng.choice(("all", "mine", "latest"))
            get_label = f"{edge.name}|server|GET /{'/'.join(id_segments)}"
            route = self.route(
                edge, "GET", ["api", res.plural, literal], (), (), sibling_of=get_label
            )
        route.steps.append(call)
        return [route], [1.0]

    def backend_calls(self, resources: list[Resource]) -> None:
        """Each backend may call a later one while reading or writing; at least one does."""
        rng = self.rng
        callers = [i for i in range(len(resources) - 1) if rng.random() < 0.6] or [0]
        for i in callers:
            res = resources[i]
            target = rng.choice(resources[i + 1 :])
            call = self.call(res.service, target.endpoints["get"])
            for route in res.reads if rng.random() < 0.5 else res.writes:
                route.steps.append(call)

    def messaging(self, edge: Service, worker: Service, resources: list[Resource]) -> None:
        """Page-view events to per-tenant Kafka topics, and jobs to per-cell RabbitMQ queues."""
        rng = self.rng
        tenant, cell, job = self.positions["tenant"], self.positions["cell"], self.positions["job"]
        topic = "events.{tenant}.pageviews"
        consumer = KafkaConsumer(
            worker,
            self.system.op(worker, SpanKind.CONSUMER, f"kafka process {topic}", (tenant,)),
            "pageview-sync",
        )
        consumer.steps.append(
            Internal(
                self.system.op(worker, _I, "sync-{tenant}", (tenant,)),
                "sync-{tenant}",
                (("app.tenant", "{tenant}"),),
                (
                    self.sql(
                        worker,
                        Query(
                            "INSERT",
                            "pageviews",
                            assign=(
                                ("tenant", "pos:tenant"),
                                ("viewer", "pos:user"),
                                ("viewed_at", "now"),
                            ),
                        ),
                    ),
                ),
            )
        )
        publish = KafkaPublish(
            self.system.op(edge, SpanKind.PRODUCER, f"kafka publish {topic}", (tenant,)),
            topic,
            self.positions["user"],
            consumer,
        )
        for route in self.page_routes:
            route.steps.append(publish)
        producer = rng.choice(resources)
        destination = "jobs.{cell}.reindex"
        job_steps: tuple[Step, ...] = (
            self.sql(
                worker,
                Query(
                    "UPDATE",
                    "reindex_jobs",
                    where=(("job_id", "pos:job"),),
                    assign=(("status", "const:running"), ("started_at", "now")),
                ),
            ),
            OutsideCall(
                self.system.op(
                    worker,
                    _C,
                    f"PUT {STORAGE_HOST} /v1/buckets/reindex/objects/{{job}}.json.gz",
                    (job,),
                ),
                "PUT",
                STORAGE_HOST,
                "/v1/buckets/reindex/objects/{job}.json.gz",
                median_ms=40.0,
            ),
            self.sql(
                worker,
                Query(
                    "UPDATE",
                    "reindex_jobs",
                    where=(("job_id", "pos:job"),),
                    assign=(
                        ("status", "const:done"),
                        ("finished_at", "now"),
                        ("size_bytes", "int"),
                    ),
                ),
            ),
        )
        rabbit = RabbitPublish(
            self.system.op(
                producer.service, SpanKind.PRODUCER, f"rabbitmq publish {destination}", (cell,)
            ),
            destination,
            self.system.op(worker, SpanKind.CONSUMER, f"rabbitmq process {destination}", (cell,)),
            worker,
            (
                Internal(
                    self.system.op(worker, _I, "process job {job}", (job,)),
                    "process job {job}",
                    (("app.job.id", "{job}"), ("app.cell", "{cell}")),
                    job_steps,
                ),
            ),
        )
        for handler in producer.reads + producer.writes:
            handler.steps.append(rabbit)
        other = rng.choice([r for r in resources if r is not producer])
        rabbit = replace(
            rabbit,
            op=self.system.op(
                other.service, SpanKind.PRODUCER, f"rabbitmq publish {destination}", (cell,)
            ),
        )
        for handler in other.writes:
            handler.steps.append(rabbit)
        self.callers.append(worker)

    def outside_calls(self, resources: list[Resource]) -> None:
        """A payment provider in three regions (each its own operation), a shipping API."""
        rng = self.rng
        payer = rng.choice(resources)
        stable_calls = []
        for region, _ in PAY_REGIONS:
            stable = (("region", region),)
            op = self.system.op(payer.service, _C, f"POST {PAY_HOST} /v3/charges", (), stable)
            stable_calls.append(
                OutsideCall(op, "POST", fill(PAY_HOST, stable), "/v3/charges", ok_status=201)
            )
        pay = Choice(tuple(stable_calls), tuple(accumulate(w for _, w in PAY_REGIONS)))
        for route in payer.writes:
            route.steps.append(pay)
        shipper = rng.choice(resources)
        shipment = self.positions["shipment"]
        track = OutsideCall(
            self.system.op(
                shipper.service, _C, f"GET {SHIPPING_HOST} /v1/shipments/{{shipment}}", (shipment,)
            ),
            "GET",
            SHIPPING_HOST,
            "/v1/shipments/{shipment}",
        )
        for handler in shipper.reads + shipper.writes:
            handler.steps.append(track)
        self.callers.extend((payer.service, shipper.service))

    def force_database_habits(self, owners: list[Service]) -> None:
        """Make sure a service leaves statements out, and one comments them; before any
        query is made, as the ids a statement shows depend on whether it is recorded."""
        rng = self.rng
        if all(s.habits.db_statements for s in owners):
            force_habit(rng.choice(owners), db_statements=False)
        commenters = [s for s in owners if s.habits.db_statements]
        if not any(s.habits.sqlcommenter for s in commenters):
            force_habit(rng.choice(commenters), sqlcommenter=True)

    def force_habits(self, edge: Service, backends: list[Service]) -> None:
        """Make sure some service shows each habit of HTTP spans tests rely on."""
        rng = self.rng
        servers = [s for s in (edge, *backends) if s.role != "grpc"]
        if all(s.habits.records_route for s in servers):
            force_habit(rng.choice(servers), records_route=False, server_name="raw_path")
        current = [s for s in self.callers if not s.habits.client_legacy]
        if not current:  # the edge is current or mixed; mixed stays mixed
            force_habit(edge, client_legacy=False)
            current = [edge]
        if all(s.habits.client_url for s in current):
            force_habit(rng.choice(current), client_url=False)

    def probes(self, services: list[Service]) -> list[Entry]:
        """Kubernetes probes: ``GET /healthz`` (or the service's own path), gRPC health."""
        entries = []
        for service in services:
            if service.role == "grpc":
                op = self.system.op(service, _S, "grpc grpc.health.v1.Health/Check")
                check = GrpcMethod(service, op, "grpc.health.v1.Health", "Check")
                entries.append(
                    Entry(f"{service.name} health", make_endpoint([check], [1.0]), 0.1, True)
                )
                continue
            path = self.rng.choice(("healthz", "health", "livez", "ping"))
            route = self.route(service, "GET", [path], (), ())
            entries.append(
                Entry(f"{service.name} health", make_endpoint([route], [1.0]), 0.1, True)
            )
        return entries
