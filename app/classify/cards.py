"""A pattern as a few short lines of prompt text: what a model needs to name it, no more.

Classification cost grows with the text per pattern, so a card is terse: the operation,
matchers, one line of statistics, the busiest parent and child patterns, and one or two
sample attribute sets without the attributes the matchers already show. Everything that
came from spans is redacted here (``app.redact``), before any of it can leave the process;
the template then fences it as data. Sample attributes that repeat what the operation says
(routes, hosts, statements) or that were redacted away are left out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from app.classify.card_operation import compact_operation
from app.classify.card_samples import sample_attributes, short
from app.discovery.patterns import SpanPattern
from app.redact import redact_text

SAMPLES = 1
CODES = 2
NEIGHBOURS = 1
MIN_RATE_WINDOW_S = 60


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
    batch_refs: Mapping[int, str] | None = None,
) -> PatternCard:
    """``batch_refs`` are the refs of the batch's patterns by id: a neighbour in the batch
    is shown by its ref (``#12``), which costs fewer tokens than its operation again."""
    in_batch = batch_refs or {}
    return PatternCard(
        ref=ref,
        service=redact_text(pattern.service),
        span_kind=pattern.span_kind,
        operation=redact_text(compact_operation(pattern.operation)),
        matchers=_matchers(pattern),
        stats=stats_line(pattern),
        parents=_neighbours(pattern, pattern.parents, graph, in_batch),
        # A client's or producer's child is the same call seen by its receiver: no news.
        children=""
        if pattern.span_kind in ("client", "producer")
        else _neighbours(pattern, pattern.children, graph, in_batch),
        samples=_samples(pattern, redact_names),
    )


CONVENTIONAL_FIELDS = frozenset(
    {
        "name",
        "http.request.method",
        "http.method",
        "http.route",
        "http.target",
        "http.url",
        "http.host",
        "url.full",
        "url.path",
        "server.address",
        "net.peer.name",
        "rpc.system",
        "rpc.service",
        "rpc.method",
        "db.system",
        "db.system.name",
        "db.query.text",
        "db.query.summary",
        "db.statement",
        "db.operation",
        "db.operation.name",
        "db.collection.name",
        "db.sql.table",
        "db.mongodb.collection",
        "db.cassandra.table",
        "db.cosmosdb.container",
        "messaging.system",
        "messaging.operation",
        "messaging.operation.name",
        "messaging.operation.type",
        "messaging.destination",
        "messaging.destination.name",
        "messaging.destination.template",
        "messaging.source.name",
    }
)
"""Fields of the semantic conventions that operations are made of: the operation already
says what they hold, so a card lists its matchers only when one reads another field."""


def _matchers(pattern: SpanPattern) -> str:
    # Which fields the pattern is recognised by can say a lot (a custom attribute where a
    # route was expected); the values are what the operation already spells out.
    fields = [m.field_name for m in pattern.matchers]
    if all(field in CONVENTIONAL_FIELDS for field in fields):
        return ""
    return redact_text(",".join(fields))


def stats_line(pattern: SpanPattern) -> str:
    """``6600/h p95 21ms err 1% codes 402,502``: numbers tokenize poorly, so few of them,
    rounded to what naming and judging a pattern needs.

    Only failing status codes are shown: successes are what the rest of the spans did.
    """
    stats = pattern.stats
    seen_s = (stats.last_seen_unix_nano - stats.first_seen_unix_nano) / 1e9
    if seen_s >= MIN_RATE_WINDOW_S:  # a rate over a few seconds says nothing: count instead
        parts = [f"{_two_digits(stats.rate_per_s * 3600)}/h"]
    else:
        parts = [f"{stats.count} span" + ("s" if stats.count != 1 else "")]
    parts.append(f"p95 {_rough_duration(stats.quantile_ms(0.95))}")
    percent = stats.error_rate * 100
    if percent >= 0.5:  # rarer errors change neither a name nor a verdict
        parts.append(f"err {_half_up(percent)}%")
    failing = [code for code, _ in stats.status_codes.most_common() if _fails(code)][:CODES]
    if failing:
        parts.append("codes " + ",".join(failing))
    if stats.exception_types:
        kind = stats.exception_types.most_common(1)[0][0]
        parts.append(f"exc {redact_text(_EXCEPTION_NAMESPACE.sub('', kind))}")
    return " ".join(parts)


_EXCEPTION_NAMESPACE = re.compile(r"^.*(?:\.|::)")
"""``com.shop.payment.CardDeclinedException`` reads ``CardDeclinedException``."""


def _two_digits(value: float) -> int:
    """``6574`` reads ``6600``: fewer tokens, and no less to name a pattern by."""
    if value < 100:
        return _half_up(value)
    scale = 10 ** (len(str(_half_up(value))) - 2)
    return _half_up(value / scale) * scale


def _half_up(value: float) -> int:
    """12.5 reads 13, as people round (``round`` gives 12)."""
    return math.floor(value + 0.5)


def _rough_duration(ms: float) -> str:
    """``<1ms``, ``22ms``, ``2700ms``, ``14s``."""
    if ms < 1:
        return "<1ms"
    if ms < 10_000:
        return f"{_two_digits(ms)}ms"
    return f"{_two_digits(ms / 1000)}s"


def _fails(code: str) -> bool:
    """An HTTP status of 400 and up, or a gRPC status other than OK (0)."""
    if code.isdigit():
        number = int(code)
        return number >= 400 or 1 <= number <= 16
    return code.upper() not in ("OK", "UNSET")


def _neighbours(
    pattern: SpanPattern,
    edges: Mapping[int, int],
    graph: Mapping[int, SpanPattern],
    in_batch: Mapping[int, str],
) -> str:
    busiest = sorted(edges.items(), key=lambda item: -item[1])[:NEIGHBOURS]
    shown = []
    for pattern_id, _calls in busiest:
        other = graph.get(pattern_id)
        if other is None:
            continue
        if pattern_id in in_batch and other.service == pattern.service:
            shown.append(f"#{in_batch[pattern_id]}")
        elif other.service == pattern.service:
            shown.append(short(compact_operation(other.operation)))
        elif pattern.span_kind in ("server", "consumer"):
            shown.append(other.service)  # its client's call is this very operation
        else:
            shown.append(f"{other.service} {short(compact_operation(other.operation))}")
    more = len(edges) - len(shown)
    if more > 0:
        shown.append(f"+{more}")
    return redact_text(", ".join(shown))


def _samples(pattern: SpanPattern, redact_names: Collection[str]) -> tuple[str, ...]:
    read = {m.field_name for m in pattern.matchers}
    # A user agent says who asks when the caller is not traced (a browser, a probe); a
    # traced caller is on the card already, and its agent is only its HTTP library.
    callers_known = bool(pattern.parents)
    shown = (
        sample_attributes(span.attributes, read, redact_names, user_agent=not callers_known)
        for span in pattern.stats.typical[:SAMPLES]
    )
    return tuple(line for line in shown if line)
