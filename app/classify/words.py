"""Words for names and descriptions, from the texts discovery leaves in patterns.

Pure functions from text to text: operation keys, routes, key templates and system names
go in; lower-case words (for snake_case names) or display names (for sentences) come out.
Placeholders (``{id}``, ``:sku``, ``<sku>``, ``{asset}``) and version segments (``v1``)
never become words: they name no part of what a span does.
"""

from __future__ import annotations

import re

_PLACEHOLDER = re.compile(r"\{[^{}/]*\}|<[^<>/]*>|(?<![A-Za-z0-9]):[A-Za-z_][A-Za-z0-9_]*|\*+")
"""``{id}``, ``{userId}``, ``<sku>``, ``:orderId`` (Express), ``*`` (wildcards)."""
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")
_VERSION = re.compile(r"v[0-9]+(?:[a-z]+[0-9]*)?")
"""``v1``, ``v2``, ``v1beta1``, ``v3alpha``."""

NOISE_SEGMENTS = frozenset({"api", "apis", "rest", "public", "internal"})
"""Path segments that say where an API is mounted, not what it does."""


def words(text: str) -> list[str]:
    """``PaymentController.charge`` -> ``payment controller charge``; placeholders dropped."""
    found: list[str] = []
    for part in _NOT_ALNUM.split(_PLACEHOLDER.sub(" ", text)):
        if part:
            found.extend(word.lower() for word in _CAMEL.split(part) if word)
    return found


def is_version(word: str) -> bool:
    return _VERSION.fullmatch(word) is not None


def path_segments(path: str, mounts: bool = False) -> list[str]:
    """The segments of a route or templated path that say what it is about, in order.

    Placeholders, version segments and (unless ``mounts``) mount points such as ``api``
    are left out: ``/api/v1/contactservice/contacts/{id}`` gives ``contactservice``,
    ``contacts``.
    """
    kept: list[str] = []
    for segment in path.split("/"):
        text = _PLACEHOLDER.sub("", segment).strip("-_.~")
        if not text or is_version(text.lower()):
            continue
        if not mounts and text.lower() in NOISE_SEGMENTS:
            continue
        kept.append(text)
    return kept


def path_words(path: str, segments: int | None = 3, mounts: bool = False) -> list[str]:
    """Words of the last ``segments`` (None: all) meaningful segments:
    ``/v1/cart/{id}/items`` -> cart items; ``root`` for ``/``."""
    kept = path_segments(path, mounts)
    if not kept:
        return ["root"] if path.strip() == "/" else []
    found: list[str] = []
    for segment in kept if segments is None else kept[-segments:]:
        found.extend(words(segment))
    return found


def trailing_placeholder(path: str) -> list[str]:
    """Words of the placeholder a path ends with: ``/v1/cart/{userId}`` -> user id;
    ``/products/:sku`` -> sku; none when the path ends in a literal."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if not last or _PLACEHOLDER.fullmatch(last) is None:
        return []
    return words(last.strip("{}<>:*"))


def dedupe(sequence: list[str]) -> list[str]:
    """Drop a word equal to the one before it: ``payment payment controller`` -> one."""
    return [
        word for index, word in enumerate(sequence) if index == 0 or sequence[index - 1] != word
    ]


_SYSTEM_WORDS = {
    "postgresql": "postgres",
    "microsoft.sql_server": "mssql",
    "other_sql": "sql",
    "aws_sqs": "sqs",
    "aws.dynamodb": "dynamodb",
    "aws_dynamodb": "dynamodb",
    "gcp_pubsub": "pubsub",
    "gcp.spanner": "spanner",
    "azure.cosmosdb": "cosmosdb",
    "apache_dubbo": "dubbo",
    "connect_rpc": "connect",
    "dotnet_wcf": "wcf",
    "java_rmi": "rmi",
}
"""Semantic-convention system names that read badly in a name, and the word people use."""

_SYSTEM_DISPLAY = {
    "postgresql": "PostgreSQL",
    "postgres": "PostgreSQL",
    "mysql": "MySQL",
    "mariadb": "MariaDB",
    "mssql": "SQL Server",
    "microsoft.sql_server": "SQL Server",
    "oracle": "Oracle",
    "sqlite": "SQLite",
    "mongodb": "MongoDB",
    "elasticsearch": "Elasticsearch",
    "opensearch": "OpenSearch",
    "cassandra": "Cassandra",
    "redis": "Redis",
    "valkey": "Valkey",
    "memcached": "Memcached",
    "kafka": "Kafka",
    "rabbitmq": "RabbitMQ",
    "aws_sqs": "SQS",
    "gcp_pubsub": "Pub/Sub",
    "servicebus": "Service Bus",
    "eventhubs": "Event Hubs",
    "activemq": "ActiveMQ",
    "pulsar": "Pulsar",
    "grpc": "gRPC",
    "jsonrpc": "JSON-RPC",
    "connect_rpc": "Connect",
    "apache_dubbo": "Dubbo",
    "dotnet_wcf": "WCF",
    "java_rmi": "Java RMI",
}


def system_word(system: str) -> str:
    """A system as one name word: ``postgresql`` -> ``postgres``, ``aws_sqs`` -> ``sqs``."""
    lowered = system.strip().lower()
    return "_".join(words(_SYSTEM_WORDS.get(lowered, lowered)))


def system_display(system: str) -> str:
    """A system as people write it: ``postgresql`` -> ``PostgreSQL``."""
    lowered = system.strip().lower()
    return _SYSTEM_DISPLAY.get(lowered, system.strip())


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def listing(items: list[str], more: int = 0) -> str:
    """``a``, ``a and b``, ``a, b and c``, ``a, b, c and 2 more``."""
    if more:
        return f"{', '.join(items)} and {more} more"
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
