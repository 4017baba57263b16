"""A pattern as a few short lines of prompt text: what a model needs to name it, no more.

Classification cost grows with the text per pattern, so a card is terse: the operation,
matchers, one line of statistics, the busiest parent and child patterns, and one or two
sample attribute sets without the attributes the matchers already show. Everything that
came from spans is redacted here (``app.redact``), before any of it can leave the process;
the template then fences it as data.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from app.classify.figures import duration_text
from app.discovery.patterns import SpanPattern
from app.redact import redact_attributes, redact_text

SAMPLES = 1
SAMPLE_ATTRIBUTES = 3
VALUE_CHARS = 40
NEIGHBOURS = 1
MIN_RATE_WINDOW_S = 60
_SKIPPED = frozenset(
    {
        # said by the operation or the statistics, or no help in naming
        "http.response.status_code",
        "http.status_code",
        "rpc.grpc.status_code",
        "server.port",
        "net.peer.port",
        "net.host.port",
        "network.protocol.version",
        "http.flavor",
        "url.scheme",
        "http.scheme",
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
        operation=redact_text(pattern.operation),
        matchers=_matchers(pattern),
        stats=stats_line(pattern),
        parents=_neighbours(pattern.parents, graph),
        children=_neighbours(pattern.children, graph),
        samples=_samples(pattern, redact_names),
    )


def _matchers(pattern: SpanPattern) -> str:
    # Which fields the pattern is recognised by says a lot (legacy or current conventions,
    # a statement or a span name); the values are what the operation already spells out.
    return redact_text(",".join(m.field_name for m in pattern.matchers))


def stats_line(pattern: SpanPattern) -> str:
    stats = pattern.stats
    parts = [f"{stats.count} span" + ("s" if stats.count != 1 else "")]
    seen_s = (stats.last_seen_unix_nano - stats.first_seen_unix_nano) / 1e9
    if seen_s >= MIN_RATE_WINDOW_S:  # a rate over a few seconds says nothing
        per_hour = stats.rate_per_s * 3600
        parts.append(f"{per_hour / 1000:.1f}k/h" if per_hour >= 1000 else f"{per_hour:.0f}/h")
    parts.append(f"p95 {duration_text(stats.quantile_ms(0.95))}")
    if stats.error_count:
        parts.append(f"err {stats.error_rate:.1%}")
    if stats.status_codes:
        parts.append("codes " + ",".join(f"{c}:{n}" for c, n in stats.status_codes.most_common(3)))
    if stats.exception_types:
        top, count = stats.exception_types.most_common(1)[0]
        parts.append(f"exc {redact_text(top)}:{count}")
    return " ".join(parts)


def _neighbours(edges: Mapping[int, int], graph: Mapping[int, SpanPattern]) -> str:
    busiest = sorted(edges.items(), key=lambda item: -item[1])[:NEIGHBOURS]
    shown = []
    for pattern_id, _calls in busiest:
        other = graph.get(pattern_id)
        if other is not None:
            shown.append(f"{other.service} {_short(other.operation)}")
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
            if name not in read and name not in _SKIPPED
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
