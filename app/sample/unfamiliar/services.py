"""The services of a composed system: names in varied habits, languages, instrumentation.

Every choice is drawn from the system's ``random.Random``; a few are then forced so that
each system shows what tests rely on: the three naming habits (``ledger-svc``, ``acct_api``,
``com.acme.billing``), services on the current conventions, on the legacy ones and on both
(two instrumentation libraries of different ages in one process).
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

from app.sample.unfamiliar.system import Database, Habits, Pod, Service

NAMINGS = ("kebab", "snake", "dotted", "plain", "camel")
LANGUAGES = ("python", "go", "java", "node", "dotnet", "ruby")
ORGS = ("acme", "globex", "initech", "umbrella", "hooli")

_PORTS = {"python": 8000, "go": 8080, "java": 8080, "node": 3000, "dotnet": 5000, "ruby": 3000}
_SDK_LANGUAGE = {"node": "nodejs"}
_SDK_VERSIONS = {
    "python": "1.27.0",
    "go": "1.28.0",
    "java": "1.40.0",
    "node": "1.26.0",
    "dotnet": "1.9.0",
    "ruby": "1.5.0",
}

# Instrumentation scope per language and role; the version tells a library of the current
# conventions (first) from one of the legacy conventions (second).
_LIBRARIES: dict[str, dict[str, str]] = {
    "python": {
        "http": "opentelemetry.instrumentation.flask",
        "http_client": "opentelemetry.instrumentation.httpx",
        "grpc": "opentelemetry.instrumentation.grpc",
        "db": "opentelemetry.instrumentation.psycopg2",
        "db:mysql": "opentelemetry.instrumentation.pymysql",
        "redis": "opentelemetry.instrumentation.redis",
        "messaging": "opentelemetry.instrumentation.confluent_kafka",
        "rabbitmq": "opentelemetry.instrumentation.pika",
    },
    "go": {
        "http": "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
        "http_client": "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
        "grpc": "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
        "db": "github.com/XSAM/otelsql",
        "redis": "github.com/redis/go-redis/extra/redisotel",
        "messaging": "github.com/twmb/franz-go/plugin/kotel",
        "rabbitmq": "github.com/rabbitmq/amqp091-go/otelamqp",
    },
    "java": {
        "http": "io.opentelemetry.tomcat-10.0",
        "http_client": "io.opentelemetry.java-http-client",
        "grpc": "io.opentelemetry.grpc-1.6",
        "db": "io.opentelemetry.jdbc",
        "redis": "io.opentelemetry.lettuce-5.1",
        "messaging": "io.opentelemetry.kafka-clients-2.6",
        "rabbitmq": "io.opentelemetry.rabbitmq-2.7",
    },
    "node": {
        "http": "@opentelemetry/instrumentation-http",
        "http_client": "@opentelemetry/instrumentation-undici",
        "grpc": "@opentelemetry/instrumentation-grpc",
        "db": "@opentelemetry/instrumentation-pg",
        "db:mysql": "@opentelemetry/instrumentation-mysql2",
        "redis": "@opentelemetry/instrumentation-ioredis",
        "messaging": "@opentelemetry/instrumentation-kafkajs",
        "rabbitmq": "@opentelemetry/instrumentation-amqplib",
    },
    "dotnet": {
        "http": "Microsoft.AspNetCore",
        "http_client": "System.Net.Http",
        "grpc": "Grpc.Net.Client",
        "grpc_server": "Grpc.AspNetCore.Server",
        "db": "Npgsql",
        "db:mysql": "MySqlConnector",
        "redis": "OpenTelemetry.Instrumentation.StackExchangeRedis",
        "messaging": "Confluent.Kafka.Extensions.OpenTelemetry",
        "rabbitmq": "RabbitMQ.Client",
    },
    "ruby": {
        "http": "OpenTelemetry::Instrumentation::Rack",
        "http_client": "OpenTelemetry::Instrumentation::Faraday",
        "grpc": "OpenTelemetry::Instrumentation::Grpc",
        "db": "OpenTelemetry::Instrumentation::PG",
        "db:mysql": "OpenTelemetry::Instrumentation::Mysql2",
        "redis": "OpenTelemetry::Instrumentation::Redis",
        "messaging": "OpenTelemetry::Instrumentation::RubyKafka",
        "rabbitmq": "OpenTelemetry::Instrumentation::Bunny",
    },
}
_LIBRARY_VERSIONS = {
    "python": ("0.48b0", "0.41b0"),
    "go": ("0.53.0", "0.42.0"),
    "java": ("2.6.0-alpha", "1.32.1-alpha"),
    "node": ("0.52.1", "0.41.2"),
    "dotnet": ("1.9.0", "1.0.0-rc9.14"),
    "ruby": ("0.22.0", "0.19.1"),
}
_ROUTE_STYLES = {"go": "{x}", "java": "{x}", "node": ":x", "dotnet": "{x}", "ruby": ":x"}
_K8S_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def service_name(rng: random.Random, base: str, naming: str, role: str) -> str:
    """``ledger-svc``, ``acct_api``, ``com.acme.billing``, ``pricing`` or ``LedgerService``."""
    worker = role == "worker"
    if naming == "kebab":
        return f"{base}-{'worker' if worker else rng.choice(('svc', 'api', 'service'))}"
    if naming == "snake":
        return f"{base}_{'worker' if worker else rng.choice(('api', 'svc', 'srv'))}"
    if naming == "dotted":
        return f"{rng.choice(('com', 'io'))}.{rng.choice(ORGS)}.{base}"
    if naming == "camel":
        return base.capitalize() + ("Worker" if worker else "Service")
    return base


def draw_habits(rng: random.Random, style: str, language: str) -> Habits:
    """Instrumentation habits; ``style`` is ``current``, ``legacy`` or ``mixed``."""
    if style == "mixed":
        server = rng.random() < 0.5
        flags = [server, rng.random() < 0.5, not server, rng.random() < 0.5]
    else:
        flags = [style == "legacy"] * 4
    records_route = rng.random() < 0.7
    if records_route:
        server_name = rng.choice(("route", "route", "route_only", "method", "http_method"))
    else:
        server_name = rng.choice(("raw_path", "method", "http_method"))
    if language == "python":
        route_style = "<x>" if flags[0] else "{x}"  # Flask, or FastAPI
    else:
        route_style = _ROUTE_STYLES[language]
    return Habits(
        server_legacy=flags[0],
        client_legacy=flags[1],
        db_legacy=flags[2],
        messaging_legacy=flags[3],
        server_name=server_name,
        route_style=route_style,
        records_route=records_route,
        client_name=rng.choice(("method", "method", "http_method", "raw_path")),
        client_url=rng.random() < 0.75,
        db_name=rng.choice(("op_table", "op_table", "op", "db")),
        db_statements=rng.random() < 0.8,
        sqlcommenter=rng.random() < 0.25,
        redis_name=rng.choice(("command", "lower", "command_key")),
    )


def orm_style(language: str, db_system: str) -> str:
    """The placeholder style of the language's usual ORM or driver on that database."""
    if language == "python":
        return "named"
    if language == "java":
        return "hibernate"
    return "dollar" if db_system == "postgresql" else "qmark"


def build_service(
    rng: random.Random, name: str, role: str, language: str, style: str, namespace: str
) -> Service:
    habits = draw_habits(rng, style, language)
    host = re.sub(r"[._]", "-", name.lower()) + f".{namespace}.svc.cluster.local"
    port = 50051 if role == "grpc" else _PORTS[language]
    service = Service(name, role, language, habits, host, port, {})
    set_scopes(service)
    version = f"{rng.randrange(0, 6)}.{rng.randrange(0, 40)}.{rng.randrange(0, 12)}"
    replica_set = "".join(rng.choices(_K8S_ALPHABET, k=10))
    slug = host.split(".")[0]
    for ordinal in range(rng.randrange(2, 4)):
        pod = f"{slug}-{replica_set}-{''.join(rng.choices(_K8S_ALPHABET, k=5))}"
        resource = {
            "service.name": name,
            "service.namespace": namespace,
            "service.version": version,
            "service.instance.id": pod,
            "host.name": pod,
            "k8s.pod.name": pod,
            "k8s.namespace.name": namespace,
            "telemetry.sdk.name": "opentelemetry",
            "telemetry.sdk.language": _SDK_LANGUAGE.get(language, language),
            "telemetry.sdk.version": _SDK_VERSIONS[language],
            "deployment.environment.name": "production",
        }
        ip = f"10.{rng.randrange(16, 32)}.{rng.randrange(0, 256)}.{rng.randrange(2, 255)}"
        service.pods.append(Pod(service, resource, ip, ordinal))
    return service


def set_scopes(service: Service) -> None:
    """Name each role's instrumentation library, at the version its convention implies."""
    libraries = _LIBRARIES[service.language]
    current, legacy = _LIBRARY_VERSIONS[service.language]
    h = service.habits
    legacy_by_role = {
        "http": h.server_legacy,
        "grpc_server": h.server_legacy,
        "grpc": h.client_legacy,
        "http_client": h.client_legacy,
        "db": h.db_legacy,
        "redis": h.db_legacy,
        "messaging": h.messaging_legacy,
        "rabbitmq": h.messaging_legacy,
    }
    mysql = service.db is not None and service.db.system == "mysql"
    for role, is_legacy in legacy_by_role.items():
        if role == "db" and mysql:
            library = libraries.get("db:mysql", libraries["db"])
        else:  # one gRPC library instruments both sides, except in .NET
            library = libraries.get(role) or libraries[role.removesuffix("_server")]
        service.scopes[role] = (library, legacy if is_legacy else current)
    service.scopes["app"] = (service.name, "")


def give_database(service: Service, db: Database) -> None:
    service.db = db
    set_scopes(service)


def force_habit(service: Service, **changes: object) -> None:
    """Make ``service`` show a habit every system must have somewhere."""
    service.habits = replace(service.habits, **changes)  # type: ignore[arg-type]
    set_scopes(service)
