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
from app.chat.time_window import TimeWindow
from app.chat.window_placement import PlacedWindow, place_window
from app.classify.store import ClassificationStore, Correction, StoredClassification
from app.discovery.documents import sample_document
from app.discovery.heads import PatternHead, read_heads_by_id
from app.discovery.patterns import SpanPattern
from app.discovery.sketches import encode_sketch
from app.discovery.timeline import TimeBucket
from app.discovery.traceql import traceql_for
from app.facts.activity import ActivityIndex
from app.facts.render_window import change_text
from app.facts.window_facts import WindowFacts, window_facts
from app.web.catalog import merge_candidates
from app.web.charts import (
    Chart,
    duration_histogram,
    error_rate_over_time,
    latency_over_time,
    request_rate_over_time,
)


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
    request_rate: Chart | None = None
    window: PlacedWindow | None = None
    """The window picked (charts cover it); None: all spans seen."""
    window_facts: WindowFacts | None = None
    """Its numbers in the window picked, against the window before."""
    window_changes: list[str] | None = None
    """The changes between them that matter, as answers say them."""
    """Span attributes seen on the samples: what a split can go by."""

    @property
    def verdict_correction(self) -> Correction | None:
        """The latest verdict a person set: its reason is why the verdict is what it is."""
        return next((c for c in reversed(self.corrections) if c.field == "verdict"), None)


def pattern_view(
    classifications: ClassificationStore,
    pattern: SpanPattern,
    grafana: GrafanaLinks | None,
    asked: TimeWindow | None = None,
) -> PatternView:
    """``asked``: a window picked; placed where the pattern's spans are (and saying so)."""
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
    buckets = timeline.ordered()
    window: PlacedWindow | None = None
    numbers: WindowFacts | None = None
    if asked is not None and stats.count:
        index = _activity(pattern)
        seen = index.seen
        activity = index.of(pattern.id)

        def has_spans(start_s: int, end_s: int) -> bool:
            return activity is not None and activity.spans_between(start_s, end_s) > 0

        window = place_window(asked, seen[0], seen[1] - 1, has_spans)
        numbers = window_facts(index, pattern.id, window.start_s, window.end_s)
        buckets = _inside(buckets, timeline.width_s, index.reach(window.start_s, window.end_s))
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
        error_rate=error_rate_over_time(buckets, timeline.width_s),
        latency=latency_over_time(buckets, timeline.width_s),
        merge_candidates=merge_candidates(store, pattern),
        attribute_names=sorted(name for name in names if name not in matched),
        request_rate=request_rate_over_time(buckets, timeline.width_s),
        window=window,
        window_facts=numbers,
        window_changes=(
            [change_text(c, numbers.slow_share) for c in numbers.changes] if numbers else None
        ),
    )


def _activity(pattern: SpanPattern) -> ActivityIndex:
    """The pattern's own timeline as the activity index reads timelines, over the time its
    spans were seen."""
    stats = pattern.stats
    timeline = stats.timeline
    stored = [
        (b.start_s, b.count, b.errors, encode_sketch(b.durations_ms)) for b in timeline.ordered()
    ]
    seen = (
        stats.first_seen_unix_nano // 1_000_000_000,
        stats.last_seen_unix_nano // 1_000_000_000 + 1,
    )
    return ActivityIndex({pattern.id: (timeline.width_s, stored)}, seen)


def _inside(buckets: list[TimeBucket], width_s: int, reach: tuple[int, int]) -> list[TimeBucket]:
    """The buckets whose middle lies in the window (as its numbers read them)."""
    half = width_s // 2
    return [b for b in buckets if reach[0] <= b.start_s + half < reach[1]]


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
