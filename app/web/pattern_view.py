"""Everything the pattern page shows of one pattern, read from the store.

Only this pattern is decoded whole (its sketch, timeline and samples); its neighbours in
the graph and the patterns it could merge with are read as heads (``app.web.catalog``), so
the page costs the same with 100 patterns or 10,000. Samples are redacted as the API
redacts them (``sample_document``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from app.chat.service import GrafanaLinks
from app.classify.store import ClassificationStore, Correction, StoredClassification
from app.discovery.documents import sample_document
from app.discovery.heads import PatternHead, read_heads_by_id
from app.discovery.patterns import SpanPattern
from app.discovery.traceql import traceql_for
from app.web.catalog import merge_candidates
from app.web.charts import Chart, duration_histogram, error_rate_over_time, latency_over_time


@dataclass(frozen=True)
class Linked:
    head: PatternHead
    calls: int


@dataclass(frozen=True)
class Share:
    key: str
    count: int
    share: float


@dataclass(frozen=True)
class PatternView:
    pattern: SpanPattern
    summary: dict[str, Any]
    """``PatternStats.summary()``: counts, rate, percentiles, first and last seen."""
    classification: StoredClassification | None
    aliases: list[str]
    corrections: list[Correction]
    parents: list[Linked]
    children: list[Linked]
    samples: list[tuple[str, str, list[dict[str, Any]]]]
    """(key, title, redacted sample documents) for typical, slowest and erroring spans."""
    status_codes: list[Share]
    exception_types: list[Share]
    traceql: str
    grafana_url: str | None
    histogram: Chart
    error_rate: Chart
    latency: Chart
    merge_candidates: list[PatternHead]
    attribute_names: list[str]
    """Span attributes seen on the samples: what a split can go by."""

    @property
    def verdict_correction(self) -> Correction | None:
        """The latest verdict a person set: its reason is why the verdict is what it is."""
        return next((c for c in reversed(self.corrections) if c.field == "verdict"), None)


def pattern_view(
    classifications: ClassificationStore, pattern: SpanPattern, grafana: GrafanaLinks | None
) -> PatternView:
    store = classifications.patterns
    stats = pattern.stats
    neighbours = read_heads_by_id(store, [*pattern.parents, *pattern.children])
    samples = [
        ("typical", "Typical", [sample_document(s) for s in stats.typical]),
        ("slowest", "Slowest", [sample_document(s) for s in stats.slowest_spans()]),
        ("errors", "Erroring", [sample_document(s) for s in stats.errors]),
    ]
    try:
        query = traceql_for(pattern)
    except ValueError as exc:  # a span kind TraceQL has no keyword for
        query = f"(no TraceQL: {exc})"
    summary = stats.summary()
    timeline = stats.timeline
    names: Counter[str] = Counter()
    for span in [*stats.typical, *stats.slowest_spans(), *stats.errors]:
        names.update(span.attributes.keys())
    matched = {m.field_name for m in pattern.matchers}
    return PatternView(
        pattern=pattern,
        summary=summary,
        classification=classifications.current([pattern]).get(pattern.id),
        aliases=classifications.aliases(pattern.id),
        corrections=[c for c in classifications.corrections() if c.pattern_id == pattern.id],
        parents=_linked(pattern.parents, neighbours),
        children=_linked(pattern.children, neighbours),
        samples=samples,
        status_codes=_shares(stats.status_codes, stats.count),
        exception_types=_shares(stats.exception_types, stats.count),
        traceql=query,
        grafana_url=grafana.explore(pattern, query) if grafana and stats.count else None,
        histogram=duration_histogram(
            stats.durations_ms,
            [(f"p{round(q * 100)}", stats.quantile_ms(q)) for q in (0.5, 0.95, 0.99)],
            stats.max_duration_ns / 1e6,
        ),
        error_rate=error_rate_over_time(timeline.ordered(), timeline.width_s),
        latency=latency_over_time(timeline.ordered(), timeline.width_s),
        merge_candidates=merge_candidates(store, pattern),
        attribute_names=sorted(name for name in names if name not in matched),
    )


def _linked(edges: Counter[int], heads: dict[int, PatternHead]) -> list[Linked]:
    return [
        Linked(heads[pid], calls)
        for pid, calls in sorted(edges.items(), key=lambda item: (-item[1], item[0]))
        if pid in heads
    ]


def _shares(counter: Counter[str], total: int) -> list[Share]:
    return [
        Share(key, count, count / total if total else 0.0) for key, count in counter.most_common()
    ]
