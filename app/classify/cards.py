"""A pattern as a few short lines of prompt text: what a model needs to name it, no more.

Classification cost grows with the text per pattern, so a card is terse: the operation,
matchers, one line of statistics, the busiest parent and child patterns, and one or two
sample attribute sets without the attributes the matchers already show. Everything that
came from spans is redacted here (``app.redact``), before any of it can leave the process;
the template then fences it as data. Sample attributes that repeat what the operation says
(routes, hosts, statements) or that were redacted away are left out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from app.classify.card_operation import compact_operation
from app.classify.card_samples import sample_attributes, short
from app.classify.card_stats import stats_line
from app.discovery.operation import Family
from app.discovery.patterns import SpanPattern
from app.redact import redact_text

SAMPLES = 1
NEIGHBOURS = 1


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
        service=_one_line(pattern.service),
        span_kind=pattern.span_kind,
        operation=_operation(pattern),
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
            shown.append(short(_operation(other)))
        elif pattern.span_kind in ("server", "consumer"):
            shown.append(_one_line(other.service))  # its client's call is this operation
        else:
            shown.append(f"{_one_line(other.service)} {short(_operation(other))}")
    more = len(edges) - len(shown)
    if more > 0:
        shown.append(f"+{more}")
    return ", ".join(shown)


def _operation(pattern: SpanPattern) -> str:
    return compact_operation(pattern.operation, statement=pattern.family is Family.DATABASE)


def _one_line(text: str) -> str:
    """Redacted, on one line: a name with a line break in it cannot start a card of its own."""
    return " ".join(redact_text(text).split())


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
