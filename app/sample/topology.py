"""The sample shop: its services, their pods, the operations they perform and the ids they use.

Seven services in Kubernetes namespace ``shop`` of cluster ``eu-west-1-prod``, each written in
the language whose OpenTelemetry instrumentation it shows::

    browser ─► frontend (Node.js, Express) ─┬─► search (Python, Flask) ─► Redis, Elasticsearch
                │                           ├─► cart (.NET, ASP.NET Core) ─► Redis, Postgres
                └─► Redis (sessions)        │                            └─► inventory (gRPC)
                                            ├─► inventory (Python, gRPC) ─► Redis, Postgres
                                            └─► checkout (Go) ─┬─► cart, inventory (gRPC)
                                                               ├─► payment (Java) ─► api.stripe.com
                                                               ├─► api.shipengine.com, Postgres
                                                               └─► Kafka ``orders.placed``
    Kafka ``orders.placed`` ─► notification (Python) ─► Postgres, Redis, smtp-relay.example.net

frontend, checkout, inventory and search emit the current semantic conventions
(``http.request.method``, ``url.full``, ``db.query.text``); cart, payment and notification run
older instrumentation and emit the legacy names (``http.method``, ``http.url``,
``db.statement``).

Every span the generator writes belongs to exactly one ``Operation`` defined here, whose
``label`` (``service|kind|what``) is the ground truth for pattern discovery: the operation a
careful person would say the span belongs to, whatever ids and literals it carries. Labels are
unique; defining one twice fails at import.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.spans import SpanKind

NAMESPACE = "shop"
CLUSTER = "eu-west-1-prod"
REGION = "eu-west-1"
DB_NAME = "shop"

PUBLIC_HOST = "shop.example.com"
POSTGRES_HOST = "postgres.shop.svc.cluster.local"
REDIS_HOST = "redis.shop.svc.cluster.local"
KAFKA_BROKER = "kafka-0.kafka-headless.shop.svc.cluster.local"
ELASTICSEARCH_HOST = "elasticsearch.shop.svc.cluster.local"
STRIPE_HOST = "api.stripe.com"
SHIPPING_HOST = "api.shipengine.com"
MAIL_RELAY_HOST = "smtp-relay.example.net"
ORDERS_TOPIC = "orders.placed"


def cluster_host(service: str) -> str:
    """The in-cluster DNS name other services call ``service`` by."""
    return f"{service}.{NAMESPACE}.svc.cluster.local"


@dataclass(frozen=True, slots=True)
class Scope:
    """An instrumentation scope (tracer name and version)."""

    name: str
    version: str


@dataclass(frozen=True)
class ServiceSpec:
    """One deployment of the shop and the instrumentation it runs.

    ``db_client`` and ``redis_client`` name the libraries whose span naming the generator
    imitates (otelsql calls every query ``sql.conn.query``, Npgsql names spans after the
    database, ioredis uses lower-case commands, ...).
    """

    name: str
    version: str
    language: str
    sdk_version: str
    replicas: int
    legacy_semconv: bool
    scopes: Mapping[str, Scope]
    db_client: str = ""
    redis_client: str = ""
    port: int = 8080
    runtime: tuple[str, str] = ("", "")
    instance_id_is_uuid: bool = False
    extra_resource: Mapping[str, Any] | None = None


def _scopes(**roles: tuple[str, str]) -> dict[str, Scope]:
    return {role: Scope(name, version) for role, (name, version) in roles.items()}


_JAVA_AGENT = "1.32.1-alpha"

SERVICES: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        ServiceSpec(
            name="frontend",
            version="2.14.1",
            language="nodejs",
            sdk_version="1.26.0",
            replicas=3,
            legacy_semconv=False,
            port=443,
            redis_client="ioredis",
            runtime=("nodejs", "20.15.1"),
            scopes=_scopes(
                http=("@opentelemetry/instrumentation-http", "0.52.1"),
                express=("@opentelemetry/instrumentation-express", "0.41.1"),
                grpc=("@opentelemetry/instrumentation-grpc", "0.52.1"),
                redis=("@opentelemetry/instrumentation-ioredis", "0.42.0"),
                app=("shop-frontend", "2.14.1"),
            ),
        ),
        ServiceSpec(
            name="checkout",
            version="1.42.0",
            language="go",
            sdk_version="1.28.0",
            replicas=3,
            legacy_semconv=False,
            db_client="otelsql",
            runtime=("go", "go1.22.5"),
            scopes=_scopes(
                http=("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "0.53.0"),
                grpc=(
                    "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
                    "0.53.0",
                ),
                db=("github.com/XSAM/otelsql", "0.32.0"),
                kafka=("github.com/twmb/franz-go/plugin/kotel", "1.5.0"),
                app=("github.com/example/shop/checkout/internal/orders", ""),
            ),
        ),
        ServiceSpec(
            name="cart",
            version="3.7.2",
            language="dotnet",
            sdk_version="1.7.0",
            replicas=2,
            legacy_semconv=True,
            db_client="npgsql",
            redis_client="stackexchange",
            runtime=(".NET", "8.0.6"),
            scopes=_scopes(
                http=("OpenTelemetry.Instrumentation.AspNetCore", "1.0.0-rc9.14"),
                http_client=("OpenTelemetry.Instrumentation.Http", "1.0.0-rc9.14"),
                grpc=("OpenTelemetry.Instrumentation.GrpcNetClient", "1.0.0-rc9.14"),
                redis=("OpenTelemetry.Instrumentation.StackExchangeRedis", "1.0.0-rc9.13"),
                db=("Npgsql", "8.0.3"),
            ),
        ),
        ServiceSpec(
            name="payment",
            version="5.3.0",
            language="java",
            sdk_version="1.32.0",
            replicas=3,
            legacy_semconv=True,
            db_client="jdbc",
            runtime=("OpenJDK Runtime Environment", "21.0.3+9-LTS"),
            instance_id_is_uuid=True,
            extra_resource={"telemetry.auto.version": "1.32.1"},
            scopes=_scopes(
                http=("io.opentelemetry.tomcat-10.0", _JAVA_AGENT),
                spring=("io.opentelemetry.spring-webmvc-6.0", _JAVA_AGENT),
                http_client=("io.opentelemetry.okhttp-3.0", _JAVA_AGENT),
                db=("io.opentelemetry.jdbc", _JAVA_AGENT),
            ),
        ),
        ServiceSpec(
            name="inventory",
            version="0.19.4",
            language="python",
            sdk_version="1.25.0",
            replicas=2,
            legacy_semconv=False,
            db_client="psycopg",
            redis_client="redis-py",
            port=50051,
            runtime=("cpython", "3.12.4"),
            scopes=_scopes(
                grpc=("opentelemetry.instrumentation.grpc", "0.46b0"),
                db=("opentelemetry.instrumentation.psycopg", "0.46b0"),
                redis=("opentelemetry.instrumentation.redis", "0.46b0"),
            ),
        ),
        ServiceSpec(
            name="search",
            version="1.8.0",
            language="python",
            sdk_version="1.25.0",
            replicas=2,
            legacy_semconv=False,
            redis_client="redis-py",
            port=8000,
            runtime=("cpython", "3.12.4"),
            scopes=_scopes(
                http=("opentelemetry.instrumentation.flask", "0.46b0"),
                elasticsearch=("opentelemetry.instrumentation.elasticsearch", "0.46b0"),
                redis=("opentelemetry.instrumentation.redis", "0.46b0"),
            ),
        ),
        ServiceSpec(
            name="notification",
            version="0.11.3",
            language="python",
            sdk_version="1.20.0",
            replicas=2,
            legacy_semconv=True,
            db_client="psycopg2",
            redis_client="redis-py",
            runtime=("cpython", "3.11.9"),
            scopes=_scopes(
                http=("opentelemetry.instrumentation.flask", "0.41b0"),
                kafka=("opentelemetry.instrumentation.kafka", "0.41b0"),
                db=("opentelemetry.instrumentation.psycopg2", "0.41b0"),
                redis=("opentelemetry.instrumentation.redis", "0.41b0"),
                http_client=("opentelemetry.instrumentation.requests", "0.41b0"),
                app=("notification.handlers", ""),
            ),
        ),
    )
}


# --- operations ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Operation:
    """One thing a service does, as a careful person would name it.

    ``label`` is ``service|kind|what``, e.g. ``checkout|client|POST api.stripe.com
    /v1/charges``: the ground truth that every span of this operation carries. A SQL
    operation's ``what`` reads ``postgresql VERB table ...``; ``db_operation`` and ``db_table``
    hold the verb and the table.
    """

    label: str
    service: str
    kind: SpanKind
    scope: Scope
    db_operation: str = ""
    db_table: str = ""


OPERATIONS: dict[str, Operation] = {}
"""Every operation of the shop by label."""


def _op(service: str, kind: SpanKind, role: str, what: str) -> Operation:
    spec = SERVICES[service]
    scope = spec.scopes[role]
    label = f"{service}|{kind.label}|{what}"
    if label in OPERATIONS:
        raise ValueError(f"operation label {label!r} is defined twice")
    db_operation = db_table = ""
    if what.startswith("postgresql "):
        words = what.split()
        db_operation = words[1]
        db_table = words[2] if len(words) > 2 else ""
    operation = Operation(label, service, kind, scope, db_operation, db_table)
    OPERATIONS[label] = operation
    return operation


_S, _C, _I = SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL
_CART = cluster_host("cart")
_CHECKOUT = cluster_host("checkout")
_PAYMENT = cluster_host("payment")
_SEARCH = cluster_host("search")
_INVENTORY_GRPC = "inventory.v1.InventoryService"

# frontend
FE_HOME = _op("frontend", _S, "http", "GET /")
FE_PRODUCT = _op("frontend", _S, "http", "GET /products/{sku}")
FE_CATEGORY = _op("frontend", _S, "http", "GET /category/{slug}")
FE_SEARCH = _op("frontend", _S, "http", "GET /search")
FE_CART = _op("frontend", _S, "http", "GET /cart")
FE_CART_ADD = _op("frontend", _S, "http", "POST /cart/items")
FE_CHECKOUT = _op("frontend", _S, "http", "POST /checkout")
FE_ORDER = _op("frontend", _S, "http", "GET /orders/{orderId}")
FE_ORDER_CANCEL = _op("frontend", _S, "http", "POST /orders/{orderId}/cancel")
FE_STATIC = _op("frontend", _S, "http", "GET /static/{asset}")
FE_HEALTHZ = _op("frontend", _S, "http", "GET /healthz")
FE_READYZ = _op("frontend", _S, "http", "GET /readyz")
FE_API_HEALTHZ = _op("frontend", _S, "http", "GET /api/healthz")
FE_AUTH = _op("frontend", _I, "express", "middleware - auth")
FE_SESSION = _op("frontend", _C, "redis", "redis HGETALL session:{session_id}")
FE_PING = _op("frontend", _C, "redis", "redis PING")
FE_RENDER_PRODUCT = _op("frontend", _I, "app", "render template product_{id}.html")
FE_RENDER_CATEGORY = _op("frontend", _I, "app", "render template category.html")
FE_RENDER_SEARCH = _op("frontend", _I, "app", "render template search.html")
FE_RENDER_CART = _op("frontend", _I, "app", "render template cart.html")
FE_RENDER_HOME = _op("frontend", _I, "app", "render template home.html")
FE_RENDER_ORDER = _op("frontend", _I, "app", "render template order.html")
FE_GRPC_GET_PRODUCT = _op("frontend", _C, "grpc", f"grpc {_INVENTORY_GRPC}/GetProduct")
FE_GRPC_LIST_PRODUCTS = _op("frontend", _C, "grpc", f"grpc {_INVENTORY_GRPC}/ListProducts")
FE_CALL_SEARCH = _op("frontend", _C, "http", f"GET {_SEARCH} /v1/search")
FE_CALL_RELATED = _op("frontend", _C, "http", f"GET {_SEARCH} /v1/related/{{sku}}")
FE_CALL_CART = _op("frontend", _C, "http", f"GET {_CART} /v1/cart/{{userId}}")
FE_CALL_CART_ADD = _op("frontend", _C, "http", f"POST {_CART} /v1/cart/{{userId}}/items")
FE_CALL_CHECKOUT = _op("frontend", _C, "http", f"POST {_CHECKOUT} /v1/checkout")
FE_CALL_ORDER = _op("frontend", _C, "http", f"GET {_CHECKOUT} /v1/orders/{{orderId}}")
FE_CALL_CANCEL = _op("frontend", _C, "http", f"POST {_CHECKOUT} /v1/orders/{{orderId}}/cancel")

# search
SE_SEARCH = _op("search", _S, "http", "GET /v1/search")
SE_RELATED = _op("search", _S, "http", "GET /v1/related/{sku}")
SE_HEALTHZ = _op("search", _S, "http", "GET /healthz")
SE_CACHE_GET_QUERY = _op("search", _C, "redis", "redis GET search:v2:{query_hash}")
SE_CACHE_SET_QUERY = _op("search", _C, "redis", "redis SETEX search:v2:{query_hash}")
SE_CACHE_GET_RELATED = _op("search", _C, "redis", "redis GET related:{sku}")
SE_CACHE_SET_RELATED = _op("search", _C, "redis", "redis SETEX related:{sku}")
SE_ES_MATCH = _op("search", _C, "elasticsearch", "elasticsearch search products multi_match")
SE_ES_MLT = _op("search", _C, "elasticsearch", "elasticsearch search products more_like_this")

# inventory
IN_GET_PRODUCT = _op("inventory", _S, "grpc", f"grpc {_INVENTORY_GRPC}/GetProduct")
IN_LIST_PRODUCTS = _op("inventory", _S, "grpc", f"grpc {_INVENTORY_GRPC}/ListProducts")
IN_GET_STOCK = _op("inventory", _S, "grpc", f"grpc {_INVENTORY_GRPC}/GetStock")
IN_RESERVE = _op("inventory", _S, "grpc", f"grpc {_INVENTORY_GRPC}/Reserve")
IN_RELEASE = _op("inventory", _S, "grpc", f"grpc {_INVENTORY_GRPC}/Release")
IN_HEALTH = _op("inventory", _S, "grpc", "grpc grpc.health.v1.Health/Check")
IN_CACHE_GET_PRODUCT = _op("inventory", _C, "redis", "redis GET product:{sku}")
IN_CACHE_SET_PRODUCT = _op("inventory", _C, "redis", "redis SETEX product:{sku}")
IN_SELECT_PRODUCT = _op("inventory", _C, "db", "postgresql SELECT products WHERE sku = ?")
IN_SELECT_CATEGORY = _op(
    "inventory", _C, "db", "postgresql SELECT products WHERE category_id = ? ORDER BY created_at"
)
IN_SELECT_STOCK_LIST = _op("inventory", _C, "db", "postgresql SELECT inventory WHERE sku IN (...)")
IN_SELECT_STOCK = _op("inventory", _C, "db", "postgresql SELECT inventory")
IN_SELECT_FOR_UPDATE = _op("inventory", _C, "db", "postgresql SELECT inventory FOR UPDATE")
IN_UPDATE_RESERVE = _op("inventory", _C, "db", "postgresql UPDATE inventory reserve")
IN_UPDATE_RELEASE = _op("inventory", _C, "db", "postgresql UPDATE inventory release")
IN_BEGIN = _op("inventory", _C, "db", "postgresql BEGIN")
IN_COMMIT = _op("inventory", _C, "db", "postgresql COMMIT")
IN_ROLLBACK = _op("inventory", _C, "db", "postgresql ROLLBACK")

# cart
CA_GET = _op("cart", _S, "http", "GET /v1/cart/{userId}")
CA_ADD = _op("cart", _S, "http", "POST /v1/cart/{userId}/items")
CA_CLEAR = _op("cart", _S, "http", "DELETE /v1/cart/{userId}")
CA_HEALTHZ = _op("cart", _S, "http", "GET /healthz")
CA_HGETALL = _op("cart", _C, "redis", "redis HGETALL cart:user:{user_id}")
CA_HINCRBY = _op("cart", _C, "redis", "redis HINCRBY cart:user:{user_id}")
CA_EXPIRE = _op("cart", _C, "redis", "redis EXPIRE cart:user:{user_id}")
CA_DEL = _op("cart", _C, "redis", "redis DEL cart:user:{user_id}")
CA_SELECT_PRODUCTS = _op("cart", _C, "db", "postgresql SELECT products WHERE id IN (...)")
CA_SELECT_PRODUCT = _op("cart", _C, "db", "postgresql SELECT products WHERE id = ?")
CA_GRPC_GET_STOCK = _op("cart", _C, "grpc", f"grpc {_INVENTORY_GRPC}/GetStock")

# checkout
CO_CHECKOUT = _op("checkout", _S, "http", "POST /v1/checkout")
CO_ORDER = _op("checkout", _S, "http", "GET /v1/orders/{orderId}")
CO_CANCEL = _op("checkout", _S, "http", "POST /v1/orders/{orderId}/cancel")
CO_HEALTHZ = _op("checkout", _S, "http", "GET /healthz")
CO_READYZ = _op("checkout", _S, "http", "GET /readyz")
CO_PROCESS = _op("checkout", _I, "app", "process order {order_id}")
CO_CALL_CART = _op("checkout", _C, "http", f"GET {_CART} /v1/cart/{{userId}}")
CO_CALL_CART_CLEAR = _op("checkout", _C, "http", f"DELETE {_CART} /v1/cart/{{userId}}")
CO_CALL_PAYMENT = _op("checkout", _C, "http", f"POST {_PAYMENT} /v1/payments")
CO_CALL_PAYMENT_GET = _op("checkout", _C, "http", f"GET {_PAYMENT} /v1/payments/{{paymentId}}")
CO_CALL_REFUND = _op("checkout", _C, "http", f"POST {_PAYMENT} /v1/refunds")
CO_CALL_RATES = _op("checkout", _C, "http", f"POST {SHIPPING_HOST} /v1/rates/estimate")
CO_CALL_TRACKING = _op("checkout", _C, "http", f"GET {SHIPPING_HOST} /v1/tracking")
CO_GRPC_RESERVE = _op("checkout", _C, "grpc", f"grpc {_INVENTORY_GRPC}/Reserve")
CO_GRPC_RELEASE = _op("checkout", _C, "grpc", f"grpc {_INVENTORY_GRPC}/Release")
CO_INSERT_ORDER = _op("checkout", _C, "db", "postgresql INSERT orders")
CO_INSERT_ITEMS = _op("checkout", _C, "db", "postgresql INSERT order_items")
CO_UPDATE_ORDER = _op("checkout", _C, "db", "postgresql UPDATE orders SET status")
# Marking an order paid also records the payment: another statement, so another operation.
CO_UPDATE_ORDER_PAID = _op("checkout", _C, "db", "postgresql UPDATE orders SET status, payment_id")
CO_SELECT_ORDER = _op("checkout", _C, "db", "postgresql SELECT orders WHERE id = ?")
CO_SELECT_ITEMS = _op("checkout", _C, "db", "postgresql SELECT order_items WHERE order_id = ?")
CO_PUBLISH = _op("checkout", SpanKind.PRODUCER, "kafka", f"kafka publish {ORDERS_TOPIC}")

# payment
PA_CHARGE = _op("payment", _S, "http", "POST /v1/payments")
PA_GET = _op("payment", _S, "http", "GET /v1/payments/{paymentId}")
PA_REFUND = _op("payment", _S, "http", "POST /v1/refunds")
PA_LIVENESS = _op("payment", _S, "http", "GET /actuator/health/liveness")
PA_READINESS = _op("payment", _S, "http", "GET /actuator/health/readiness")
PA_CONTROLLER_CHARGE = _op("payment", _I, "spring", "PaymentController.charge")
PA_CONTROLLER_GET = _op("payment", _I, "spring", "PaymentController.get")
PA_CONTROLLER_REFUND = _op("payment", _I, "spring", "RefundController.refund")
PA_SELECT_CUSTOMER = _op("payment", _C, "db", "postgresql SELECT payment_customers")
PA_INSERT_CUSTOMER = _op("payment", _C, "db", "postgresql INSERT payment_customers")
PA_INSERT_PAYMENT = _op("payment", _C, "db", "postgresql INSERT payments")
PA_SELECT_PAYMENT = _op("payment", _C, "db", "postgresql SELECT payments WHERE id = ?")
PA_SELECT_CHARGE = _op("payment", _C, "db", "postgresql SELECT payments WHERE order_id = ?")
PA_UPDATE_PAYMENT = _op("payment", _C, "db", "postgresql UPDATE payments")
PA_STRIPE_CHARGE = _op("payment", _C, "http_client", f"POST {STRIPE_HOST} /v1/charges")
PA_STRIPE_FIND_CUSTOMER = _op("payment", _C, "http_client", f"GET {STRIPE_HOST} /v1/customers")
PA_STRIPE_GET_CUSTOMER = _op(
    "payment", _C, "http_client", f"GET {STRIPE_HOST} /v1/customers/{{customer}}"
)
PA_STRIPE_NEW_CUSTOMER = _op("payment", _C, "http_client", f"POST {STRIPE_HOST} /v1/customers")
PA_STRIPE_REFUND = _op("payment", _C, "http_client", f"POST {STRIPE_HOST} /v1/refunds")

# notification
NO_CONSUME = _op("notification", SpanKind.CONSUMER, "kafka", f"kafka process {ORDERS_TOPIC}")
NO_HEALTHZ = _op("notification", _S, "http", "GET /healthz")
NO_SELECT_USER = _op("notification", _C, "db", "postgresql SELECT users")
NO_DEDUPE = _op("notification", _C, "redis", "redis SET notified:order:{order_id} NX")
NO_RENDER = _op("notification", _I, "app", "render email order_confirmation")
NO_SEND_MAIL = _op("notification", _C, "http_client", f"POST {MAIL_RELAY_HOST} /v3/mail/send")


# --- pods -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Instance:
    """One pod of a service. Every span it emits shares ``resource`` (read-only)."""

    spec: ServiceSpec
    resource: dict[str, Any]
    ordinal: int
    ip: str


_K8S_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _k8s_suffix(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(_K8S_ALPHABET, k=length))


def _build_replica_set(rng: random.Random, spec: ServiceSpec, version: str) -> list[Instance]:
    replica_set = _k8s_suffix(rng, 10)
    pods = []
    for ordinal in range(spec.replicas):
        pod = f"{spec.name}-{replica_set}-{_k8s_suffix(rng, 5)}"
        node = f"ip-10-42-{rng.randrange(0, 8)}-{rng.randrange(2, 250)}"
        ip = f"10.42.{rng.randrange(0, 8)}.{rng.randrange(2, 250)}"
        instance_id = uuid4(rng) if spec.instance_id_is_uuid else pod
        resource: dict[str, Any] = {
            "service.name": spec.name,
            "service.namespace": NAMESPACE,
            "service.version": version,
            "service.instance.id": instance_id,
            "host.name": pod,
            "deployment.environment": "production",
            "deployment.environment.name": "production",
            "cloud.provider": "aws",
            "cloud.region": REGION,
            "k8s.cluster.name": CLUSTER,
            "k8s.namespace.name": NAMESPACE,
            "k8s.deployment.name": spec.name,
            "k8s.replicaset.name": f"{spec.name}-{replica_set}",
            "k8s.pod.name": pod,
            "k8s.node.name": f"{node}.{REGION}.compute.internal",
            "telemetry.sdk.name": "opentelemetry",
            "telemetry.sdk.language": spec.language,
            "telemetry.sdk.version": spec.sdk_version,
        }
        if spec.runtime[0]:
            resource["process.runtime.name"] = spec.runtime[0]
            resource["process.runtime.version"] = spec.runtime[1]
        resource.update(spec.extra_resource or {})
        pods.append(Instance(spec, resource, ordinal, ip))
    return pods


class Fleet:
    """The pods of every service, and the rollouts that replace them for a while.

    ``rollouts`` maps a service to ``(start_ns, end_ns, version)``: requests that start in
    that window are served by a new replica set running ``version``.
    """

    def __init__(
        self,
        rng: random.Random,
        rollouts: Mapping[str, tuple[int, int, str]] | None = None,
    ) -> None:
        self._pods = {
            name: _build_replica_set(rng, spec, spec.version) for name, spec in SERVICES.items()
        }
        self._rollouts = {
            name: (start, end, _build_replica_set(rng, SERVICES[name], version))
            for name, (start, end, version) in (rollouts or {}).items()
        }

    def pick(self, service: str, rng: random.Random, at_ns: int) -> Instance:
        """The pod that serves a request to ``service`` starting at ``at_ns``."""
        pods = self._pods[service]
        rollout = self._rollouts.get(service)
        if rollout is not None and rollout[0] <= at_ns < rollout[1]:
            pods = rollout[2]
        return pods[int(rng.random() * len(pods))]


# --- ids and literals -----------------------------------------------------------------------

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def trace_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128) or 1:032x}"


def span_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(64) or 1:016x}"


def hex_id(rng: random.Random, length: int) -> str:
    return f"{rng.getrandbits(4 * length):0{length}x}"


def uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def provider_id(rng: random.Random, prefix: str, length: int = 24) -> str:
    """A Stripe-style object id: ``ch_3PqL9x...``, ``cus_N2k...``, ``re_...``, ``req_...``."""
    return prefix + "".join(rng.choices(_BASE62, k=length))


def fake_secret_key(rng: random.Random) -> str:
    """A Stripe-shaped live secret key, obviously fake, for redaction tests."""
    return "sk_live_51FAKE" + "".join(rng.choices(_BASE62, k=40))


def product_number(rng: random.Random) -> int:
    """A product number in 1..12000, popular ones (low numbers) far more often."""
    return 1 + int(11999 * rng.random() ** 3)


def sku(number: int) -> str:
    return f"SKU-{number:05d}"


def user_id(rng: random.Random) -> int:
    return 1000 + int(98999 * rng.random() ** 2)


def order_id(rng: random.Random) -> int:
    return rng.randrange(400_000, 999_999)


_FIRST = ("jane", "john", "maria", "wei", "amir", "olga", "lucas", "aiko", "noah", "fatima")
_LAST = ("doe", "smith", "garcia", "chen", "haddad", "ivanova", "martin", "sato", "brown")
_MAIL = ("example.com", "example.org", "mail.example.net")


def email(user: int) -> str:
    """The (fake, RFC 2606) address of a user; the same user always has the same one."""
    first = _FIRST[user % len(_FIRST)]
    last = _LAST[(user // len(_FIRST)) % len(_LAST)]
    return f"{first}.{last}{user % 97}@{_MAIL[user % len(_MAIL)]}"


def tracking_number(rng: random.Random) -> str:
    return "1Z" + "".join(rng.choices("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k=16))


CATEGORIES = (
    ("running-shoes", 12),
    ("trail", 14),
    ("jackets", 3),
    ("base-layers", 7),
    ("backpacks", 21),
    ("tents", 22),
    ("headlamps", 31),
    ("socks", 9),
)

SEARCH_TERMS = (
    "trail running shoes",
    "rain jacket",
    "merino socks",
    "gore-tex boots",
    "headlamp",
    "kids hiking boots",
    "ultralight tent",
    "down jacket women",
    "hydration vest",
    "trekking poles",
    "waterproof backpack 30l",
    "compression tights",
)

BROWSER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "ShopApp/4.12.0 (Android 14; Pixel 8)",
)

STATIC_BUNDLES = (
    "/static/js/app.3f9a1c.js",
    "/static/js/vendor.91bd2e.js",
    "/static/css/main.8e21b0.css",
    "/static/fonts/inter-var.2b7e4f.woff2",
)


def client_address(rng: random.Random) -> str:
    """A public client address from the documentation ranges (RFC 5737)."""
    prefix = rng.choice(("203.0.113", "198.51.100", "192.0.2"))
    return f"{prefix}.{rng.randrange(1, 255)}"
