"""A pattern as a few short lines of prompt text: what a model needs to name it, no more.

Classification cost grows with the text per pattern, so a card is terse: the operation,
matchers, one line of statistics, the busiest parent and child patterns, and one or two
sample attribute sets without the attributes the matchers already show. Everything that
came from spans is redacted here (``app.redact``), before any of it can leave the process;
the template then fences it as data. Sample attributes that repeat what the operation says
(routes, hosts, statements) or that were redacted away are left out.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from app.classify.figures import duration_text
from app.discovery.patterns import SpanPattern
from app.redact import REDACTED, redact_attributes, redact_text

SAMPLES = 1
SAMPLE_ATTRIBUTES = 3
VALUE_CHARS = 32
NEIGHBOURS = 1
MIN_RATE_WINDOW_S = 60
_SKIPPED = frozenset(
    {
        # said by the operation, the matchers or the statistics already
        "http.response.status_code",
        "http.status_code",
        "http.method",
        "http.request.method",
        "http.route",
        "http.target",
        "http.url",
        "url.full",
        "url.path",
        "url.scheme",
        "http.scheme",
        "http.flavor",
        "network.protocol.version",
        "server.address",
        "server.port",
        "net.peer.name",
        "net.peer.port",
        "net.host.name",
        "net.host.port",
        "db.system",
        "db.system.name",
        "db.name",
        "db.namespace",
        "db.statement",
        "db.query.text",
        "db.operation",
        "db.operation.name",
        "db.sql.table",
        "db.collection.name",
        "messaging.system",
        "messaging.operation",
        "messaging.operation.type",
        "messaging.destination.name",
        "rpc.system",
        "rpc.service",
        "rpc.method",
        "rpc.grpc.status_code",
        # no help in naming
        "thread.id",
        "thread.name",
        "code.lineno",
    }
)


@dataclass(frozen=True)
class PatternCard:
    ref: str
    service: str
    span_kind: str
    operation: str
    matchers: str
    stats: str
    parents: str
    children: str
    samples: tuple[str, ...]


def pattern_card(
    pattern: SpanPattern,
    graph: Mapping[int, SpanPattern],
    ref: str,
    *,
    redact_names: Collection[str] = (),
) -> PatternCard:
    return PatternCard(
        ref=ref,
        service=redact_text(pattern.service),
        span_kind=pattern.span_kind,
        operation=redact_text(compact_statement(pattern.operation)),
        matchers=_matchers(pattern),
        stats=stats_line(pattern),
        parents=_neighbours(pattern, pattern.parents, graph),
        # A client's or producer's child is the same call seen by its receiver: no news.
        children=""
        if pattern.span_kind in ("client", "producer")
        else _neighbours(pattern, pattern.children, graph),
        samples=_samples(pattern, redact_names),
    )


CONVENTIONAL_MATCHERS = frozenset(
    frozenset(fields)
    for fields in (
        ("http.request.method", "http.route"),
        ("http.method", "http.route"),
        ("http.request.method", "url.full"),
        ("http.method", "http.url"),
        ("rpc.system", "rpc.service", "rpc.method"),
        ("db.system.name", "db.query.text"),
        ("db.system", "db.query.text"),
        ("db.system", "db.statement"),
        ("messaging.system", "messaging.destination.name"),
        ("name",),
    )
)
"""Matcher fields the prompt names once for all patterns; a card lists only other ones."""


_SELECTED = re.compile(r"\bSELECT\s+(?:DISTINCT\s+)?([^()]*?,[^()]*?)\s+FROM\b", re.IGNORECASE)
_INSERTED = re.compile(r"\bINSERT\s+INTO\s+(\S+)\s*\([^()]*\)\s*VALUES\s*\(.*?\)(?=\s|$)", re.I)


def compact_statement(operation: str) -> str:
    """A statement without the column lists of SELECT and INSERT: the tables, the filter and
    the verb name a query; the columns cost tokens and say little more.

    ``postgresql SELECT id, sku, name FROM products WHERE category_id = ?`` reads
    ``postgresql SELECT … FROM products WHERE category_id = ?``.
    """
    compact = _SELECTED.sub(lambda m: m.group(0).replace(m.group(1), "…"), operation)
    return _INSERTED.sub(lambda m: f"INSERT INTO {m.group(1)} (…) VALUES (…)", compact)


def _matchers(pattern: SpanPattern) -> str:
    # Which fields the pattern is recognised by can say a lot (a span name where a route
    # was expected); the values are what the operation already spells out.
    fields = [m.field_name for m in pattern.matchers]
    if frozenset(fields) in CONVENTIONAL_MATCHERS:
        return ""
    return redact_text(",".join(fields))


def stats_line(pattern: SpanPattern) -> str:
    """``6.6k/h p95 21 ms err 1.2% codes 200,402``: numbers tokenize poorly, so few of them."""
    stats = pattern.stats
    seen_s = (stats.last_seen_unix_nano - stats.first_seen_unix_nano) / 1e9
    if seen_s >= MIN_RATE_WINDOW_S:  # a rate over a few seconds says nothing: count instead
        per_hour = stats.rate_per_s * 3600
        parts = [f"{per_hour / 1000:.1f}k/h" if per_hour >= 1000 else f"{per_hour:.0f}/h"]
    else:
        parts = [f"{stats.count} span" + ("s" if stats.count != 1 else "")]
    parts.append(f"p95 {duration_text(stats.quantile_ms(0.95))}")
    if stats.error_count:
        parts.append(f"err {stats.error_rate:.1%}")
    codes = [code for code, _ in stats.status_codes.most_common(3)]
    if codes and codes not in (["200"], ["0"]):  # only successes: the error rate says so
        parts.append("codes " + ",".join(codes))
    if stats.exception_types:
        parts.append(f"exc {redact_text(stats.exception_types.most_common(1)[0][0])}")
    return " ".join(parts)


def _neighbours(
    pattern: SpanPattern, edges: Mapping[int, int], graph: Mapping[int, SpanPattern]
) -> str:
    busiest = sorted(edges.items(), key=lambda item: -item[1])[:NEIGHBOURS]
    shown = []
    for pattern_id, _calls in busiest:
        other = graph.get(pattern_id)
        if other is not None:
            service = "" if other.service == pattern.service else f"{other.service} "
            shown.append(service + _short(other.operation))
    more = len(edges) - len(shown)
    if more > 0:
        shown.append(f"+{more}")
    return redact_text(", ".join(shown))


def _samples(pattern: SpanPattern, redact_names: Collection[str]) -> tuple[str, ...]:
    read = {m.field_name for m in pattern.matchers}
    lines: list[str] = []
    for span in pattern.stats.typical[:SAMPLES]:
        attributes = redact_attributes(span.attributes, redact_names)
        shown = [
            f"{name}={_value(value)}"
            for name, value in sorted(attributes.items())
            if name not in read and name not in _SKIPPED and value != REDACTED
        ][:SAMPLE_ATTRIBUTES]
        if shown:
            lines.append(" ".join(shown))
    return tuple(lines)


def _value(value: Any) -> str:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return _short(str(value).replace("\n", " "))


def _short(text: str) -> str:
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"
