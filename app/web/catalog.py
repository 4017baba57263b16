"""What the pages read from a pattern store, fast enough for 10,000 patterns.

The pages read only what they show:

- ``app.discovery.heads``: identity, graph edges, counts and p50/p99 of every pattern,
  without decoding samples, sketches or timelines.
- ``read_gists``: description, category and verdict of every classified pattern in one query.
- ``merge_candidates`` and ``complete_names``: the patterns a merge or the @ autocomplete
  offers, from the heads.
- ``Snapshots``: heads and gists kept per store, read again only after a commit.

These read the tables of ``app.classify.store`` directly, with the names that module
defines them by; tests compare every result with what ``ClassificationStore.current`` and
the API give, so a change there shows up as a failing test rather than as wrong numbers on
a page.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from app.classify.store import ClassificationStore
from app.classify.verdict import Category, Verdict
from app.discovery.heads import PatternHead, heads_where, read_heads, stored_count
from app.discovery.patterns import SpanPattern
from app.discovery.store import PatternStore


@dataclass(frozen=True, slots=True)
class Gist:
    """The part of a classification a list shows."""

    description: str
    category: Category
    verdict: Verdict


def merge_candidates(store: PatternStore, pattern: SpanPattern) -> list[PatternHead]:
    """Live patterns that ``pattern`` can merge with: same service and kind, recognised by
    the same fields (``app.discovery.overrides.merged_matchers``), busiest first."""
    heads = heads_where(
        store,
        "service = ? AND span_kind = ? AND matcher_fields = ? AND merged_into IS NULL AND id != ?",
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
        count = stored_count(stats)
        if count:
            hits.append(NameHit(str(name), str(service), str(span_kind), count))

    def rank(hit: NameHit) -> tuple[int, int, str]:
        where = 0 if hit.name.startswith(text) else 1 if f"_{text}" in hit.name else 2
        return where, -hit.count, hit.name

    return sorted(hits, key=rank)[:limit]


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
