"""What the pages read from a pattern store, fast enough for 10,000 patterns.

``PatternStore.load`` decodes every pattern whole: sample spans, duration sketches and
timelines, about 3 s for 10,000 patterns, most of it for data a list never shows. The pages
read only what they show:

- ``read_heads``: identity, graph edges, counts and p50/p99 of every pattern, reading the
  leading fields of the stored statistics (``app.discovery.store._StoredStats``) and
  computing the two quantiles from the encoded sketch buckets (``encode_sketch``) without
  building a ``DDSketch``: about 0.3 s for 10,000 patterns instead of 3 s. The numbers are
  those of ``pattern_row`` to the last digit (a test compares every pattern).
- ``read_gists``: description, category and verdict of every classified pattern in one query.
- ``sample_trace``: the stored sample spans of one trace, as ``GET /api/traces/{id}``
  answers them, decoding only the statistics that hold its id, and only up to the samples.
- ``Snapshots``: heads and gists kept per store, read again only after a commit.

These read the tables and encodings of ``app.discovery.store`` and ``app.classify.store``
directly, with the names those modules define them by; tests compare every result with
what ``PatternStore.load``, ``ClassificationStore.current`` and the API give, so a change
there shows up as a failing test rather than as wrong numbers on a page.
"""

from __future__ import annotations

import json
import threading
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

import msgspec

from app.classify.store import ClassificationStore
from app.classify.verdict import Category, Verdict
from app.discovery.patterns import SpanPattern
from app.discovery.sketches import _FORMAT, _MAPPING, _codec_decoder, decode_sketch
from app.discovery.store import PatternStore


class _StatsHead(msgspec.Struct, array_like=True):
    """The leading fields of ``_StoredStats``; msgspec skips the rest (samples, timeline)."""

    count: int
    error_count: int
    first_seen_unix_nano: int
    last_seen_unix_nano: int
    max_duration_ns: int
    sketch: bytes


_head_decoder = msgspec.msgpack.Decoder(_StatsHead)


@dataclass(frozen=True, slots=True)
class PatternHead:
    """A pattern as lists, the service map and links need it: no samples, no sketch."""

    id: int
    name: str
    service: str
    span_kind: str
    family: str
    operation: str
    matcher_fields: tuple[str, ...]
    merged_into: int | None
    parents: Mapping[int, int]
    children: Mapping[int, int]
    hints: Mapping[str, str]
    """What the operation was read from: ``system``, ``peer``, ``target``..."""
    count: int
    error_count: int
    first_seen_unix_nano: int
    last_seen_unix_nano: int
    p50_ms: float
    p99_ms: float

    @property
    def live(self) -> bool:
        """Not merged away, and seen at least once (a split empties the pattern split)."""
        return self.merged_into is None and self.count > 0

    @property
    def error_rate(self) -> float:
        return self.error_count / self.count if self.count else 0.0


@dataclass(frozen=True, slots=True)
class Gist:
    """The part of a classification a list shows."""

    description: str
    category: Category
    verdict: Verdict


_HEAD_COLUMNS = (
    "SELECT id, name, service, span_kind, family, operation, matcher_fields, merged_into, "
    "parents, children, hints, stats FROM patterns"
)


def read_heads(store: PatternStore) -> list[PatternHead]:
    """Every pattern, merged ones included, by id."""
    return _heads(store, f"{_HEAD_COLUMNS} ORDER BY id")


def read_heads_by_id(store: PatternStore, ids: Iterable[int]) -> dict[int, PatternHead]:
    wanted = sorted(set(ids))
    found: dict[int, PatternHead] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for head in _heads(store, f"{_HEAD_COLUMNS} WHERE id IN ({marks})", chunk):
            found[head.id] = head
    return found


def merge_candidates(store: PatternStore, pattern: SpanPattern) -> list[PatternHead]:
    """Live patterns that ``pattern`` can merge with: same service and kind, recognised by
    the same fields (``app.discovery.overrides.merged_matchers``), busiest first."""
    heads = _heads(
        store,
        f"{_HEAD_COLUMNS} WHERE service = ? AND span_kind = ? AND matcher_fields = ? "
        "AND merged_into IS NULL AND id != ?",
        (
            pattern.service,
            pattern.span_kind,
            json.dumps([m.field_name for m in pattern.matchers]),
            pattern.id,
        ),
    )
    return sorted((h for h in heads if h.live), key=lambda h: (-h.count, h.name))


@dataclass(frozen=True, slots=True)
class NameHit:
    name: str
    service: str
    span_kind: str
    count: int


def complete_names(store: PatternStore, text: str, limit: int = 12) -> list[NameHit]:
    """Live patterns whose names hold ``text``: names starting with it first, then names
    with a word starting with it, then the rest; busiest first within each."""
    text = text.strip().lower()
    cursor = store.connection.execute(
        "SELECT name, service, span_kind, stats FROM patterns "
        "WHERE merged_into IS NULL AND instr(name, ?) > 0",
        (text,),
    )
    hits = []
    for name, service, span_kind, stats in cursor:
        count = _head_decoder.decode(stats).count
        if count:
            hits.append(NameHit(str(name), str(service), str(span_kind), count))

    def rank(hit: NameHit) -> tuple[int, int, str]:
        where = 0 if hit.name.startswith(text) else 1 if f"_{text}" in hit.name else 2
        return where, -hit.count, hit.name

    return sorted(hits, key=rank)[:limit]


def _heads(store: PatternStore, query: str, params: Sequence[object] = ()) -> list[PatternHead]:
    heads = []
    for row in store.connection.execute(query, params):
        stats = _head_decoder.decode(row[11])
        p50, p99 = encoded_quantiles_ms(stats.sketch, (0.5, 0.99))
        heads.append(
            PatternHead(
                id=int(row[0]),
                name=str(row[1]),
                service=str(row[2]),
                span_kind=str(row[3]),
                family=str(row[4]),
                operation=str(row[5]),
                matcher_fields=_fields_decoder.decode(row[6]),
                merged_into=None if row[7] is None else int(row[7]),
                parents=_edges_decoder.decode(row[8]),
                children=_edges_decoder.decode(row[9]),
                hints=_hints_decoder.decode(row[10]),
                count=stats.count,
                error_count=stats.error_count,
                first_seen_unix_nano=stats.first_seen_unix_nano,
                last_seen_unix_nano=stats.last_seen_unix_nano,
                p50_ms=round(p50, 3),
                p99_ms=round(p99, 3),
            )
        )
    return heads


_edges_decoder = msgspec.json.Decoder(dict[int, int])
_hints_decoder = msgspec.json.Decoder(dict[str, str])
_fields_decoder = msgspec.json.Decoder(tuple[str, ...])


def encoded_quantiles_ms(data: bytes, quantiles: tuple[float, ...]) -> list[float]:
    """Quantiles of an encoded duration sketch, as ``DDSketch.get_quantile_value`` gives them.

    DDSketch's rule: the value at rank ``q * (count - 1)`` is the zero bucket's while the
    rank is below its count, else the value of the first bucket whose running count passes
    it. Sketches in DDSketch's protobuf (written before Spanwise's own encoding) are decoded.
    """
    if not data.startswith(_FORMAT):
        sketch = decode_sketch(data)
        return [float(sketch.get_quantile_value(q) or 0.0) for q in quantiles]
    zero_count, buckets = _codec_decoder.decode(data[len(_FORMAT) :])
    if not buckets:
        return [0.0 for _ in quantiles]
    running = list(accumulate((count for _, count in buckets), initial=zero_count))
    total = running[-1]
    found = []
    for quantile in quantiles:
        rank = quantile * (total - 1)
        if rank < zero_count:
            found.append(0.0)
            continue
        # the first bucket whose running count passes the rank: running[i + 1] > rank
        index = min(bisect_right(running, rank) - 1, len(buckets) - 1)
        found.append(float(_MAPPING.value(buckets[index][0])))
    return found


def read_gists(store: ClassificationStore) -> dict[int, Gist]:
    """Description, category and verdict by pattern id, for every classified pattern.

    One query: ``ClassificationStore.current`` builds a validated model per pattern, which a
    list of 10,000 does not need.
    """
    cursor = store.patterns.connection.execute(
        "SELECT pattern_id, description, category, verdict FROM classifications"
    )
    return {
        int(pattern_id): Gist(str(description), Category(category), Verdict(verdict))
        for pattern_id, description, category, verdict in cursor
    }


@dataclass(frozen=True)
class Snapshot:
    """Every pattern's head and classification gist, as of one state of the store."""

    version: int
    heads: list[PatternHead]
    gists: dict[int, Gist]


class Snapshots:
    """The latest ``Snapshot`` of each store, read again only after a commit.

    A connection kept open per store asks SQLite whether another connection has committed
    since the last read (``PRAGMA data_version``): a correction, a split, a discovery run.
    Until then, the lists of 10,000 patterns cost no reading at all, the way the chat
    service keeps its mention index (``app.chat.service``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watchers: dict[Path, ClassificationStore] = {}
        self._latest: dict[Path, Snapshot] = {}

    def of(self, path: Path) -> Snapshot:
        with self._lock:
            watcher = self._watchers.get(path)
            if watcher is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                watcher = self._watchers[path] = ClassificationStore(PatternStore(path))
            version = watcher.patterns.data_version()
            latest = self._latest.get(path)
            if latest is None or latest.version != version:
                latest = Snapshot(version, read_heads(watcher.patterns), read_gists(watcher))
                self._latest[path] = latest
            return latest
