"""Span patterns on disk: one SQLite file in the data directory, in WAL mode.

Every save is one transaction, so a run killed midway leaves the last saved state whole;
readers never wait for a writer. Statistics are stored as msgpack (samples are spans, which
msgspec encodes natively) with the duration sketch in DDSketch's own protobuf form, so a
later run merges into them exactly where the last one stopped.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from ddsketch import DDSketch

from app.discovery.attribute_profile import AttributeProfile
from app.discovery.operation import Family, FieldType, Matcher, MatchType
from app.discovery.overrides import Override, decode_override, encode_override
from app.discovery.patterns import SpanPattern
from app.discovery.sketches import SKETCH_ACCURACY, decode_sketch, encode_sketch
from app.discovery.stats import PatternStats, slow_entry
from app.discovery.time_profile import ChildTime, TimeBand, TimeProfile
from app.discovery.timeline import BASE_WIDTH_S, CallTimeline, TimeBucket, Timeline
from app.discovery.variables import LearnedVariable
from connectors.spans import Span

SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS patterns (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    service TEXT NOT NULL,
    span_kind TEXT NOT NULL,
    family TEXT NOT NULL,
    operation TEXT NOT NULL,
    matcher_fields TEXT NOT NULL,
    matchers TEXT NOT NULL,
    hints TEXT NOT NULL,
    stats BLOB NOT NULL,
    parents TEXT NOT NULL,
    children TEXT NOT NULL,
    updated_unix_s REAL NOT NULL,
    merged_into INTEGER,
    exclusions TEXT NOT NULL DEFAULT '[]',
    UNIQUE (service, span_kind, operation, matcher_fields)
);
CREATE TABLE IF NOT EXISTS overrides (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    author TEXT NOT NULL,
    created_unix_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS learned_variables (
    id INTEGER PRIMARY KEY,
    identity TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    updated_unix_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    spans INTEGER NOT NULL,
    finished_unix_s REAL NOT NULL
);
"""

_MIGRATIONS = {
    # version reached: statements that get there from the version before
    2: ("ALTER TABLE patterns ADD COLUMN merged_into INTEGER",),
    3: ("ALTER TABLE patterns ADD COLUMN exclusions TEXT NOT NULL DEFAULT '[]'",),
}
MATCHERS_VERSION = "short"
"""How the stored matchers are written; a store whose ``meta.matchers`` differs (one written
before schema 3, with long regexes) gets them built again when it is opened
(``app.discovery.rematch``), until that succeeds."""


_StoredBand = tuple[int, int, int, dict[int, tuple[int, int]]]
"""A time profile's band: spans, their total and self time (ns), and by child pattern id
(calls, time on the critical path in ns)."""


class StoredStatsHead(msgspec.Struct, array_like=True):
    """The leading fields of the stored statistics (``_StoredStats`` extends it): msgspec
    skips the rest (samples, timeline), so lists read counts and the sketch without
    decoding a pattern whole."""

    count: int
    error_count: int
    first_seen_unix_nano: int
    last_seen_unix_nano: int
    max_duration_ns: int
    sketch: bytes


class StoredStatsSamples(StoredStatsHead, array_like=True):
    """The fields of ``_StoredStats`` up to its samples: msgspec skips the timeline."""

    status_codes: dict[str, int]
    exception_types: dict[str, int]
    typical: list[Span]
    slowest: list[Span]
    errors: list[Span]


class _StoredStats(StoredStatsSamples, array_like=True):
    """A pattern's statistics as stored: the samples' layout, then the rest."""

    timeline_width_s: int = BASE_WIDTH_S
    timeline: list[tuple[int, int, int, bytes]] = []
    """(bucket start, count, errors, sketch) per bucket; empty in stores written before."""
    profile: tuple[int, int, dict[str, dict[str, tuple[int, int]]], list[str]] = (0, 0, {}, [])
    """The attribute profile: profiled, profiled slow, counts by value, dropped attributes."""
    calls: dict[int, tuple[int, list[tuple[int, int, int]]]] = {}
    """By child pattern id: (bucket width, [(bucket start, calls, parent spans)])."""
    lag_sketch: bytes = b""
    """Consumer lag (ms); empty for other patterns and in stores written before."""
    lag_timeline_width_s: int = BASE_WIDTH_S
    lag_timeline: list[tuple[int, int, int, bytes]] = []
    time_profile: list[_StoredBand] = []
    """Slow calls, then typical ones; empty for leaves and in stores written before."""


class _StoredTimeline(StoredStatsHead, array_like=True):
    """``_StoredStats`` read only as far as its timeline: the samples before it are
    skipped undecoded, the fields after it not read at all."""

    status_codes: msgspec.Raw
    exception_types: msgspec.Raw
    typical: msgspec.Raw
    slowest: msgspec.Raw
    errors: msgspec.Raw
    timeline_width_s: int = BASE_WIDTH_S
    timeline: list[tuple[int, int, int, bytes]] = []


StoredActivity = tuple[int, list[tuple[int, int, int, bytes]]]
"""A pattern's timeline as stored: bucket width, and (start, spans, errors, encoded sketch)
per bucket."""

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_StoredStats)
_timeline_decoder = msgspec.msgpack.Decoder(_StoredTimeline)
_variable_encoder = msgspec.json.Encoder()
_variable_decoder = msgspec.json.Decoder(LearnedVariable)


@dataclass(frozen=True)
class StoredOverride:
    id: int
    override: Override
    author: str
    created_unix_s: float


class StoreError(RuntimeError):
    """The pattern store cannot be used; the message says why and what to do."""


class PatternStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA.split(";")[0])
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise StoreError(
                f"{path} was written by a newer Spanwise (schema {row[0]}); upgrade Spanwise"
            )
        with self.transaction():
            if row is not None:
                for version in range(int(row[0]) + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS.get(version, ()):
                        self._db.execute(statement)
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )
        written = self._db.execute("SELECT value FROM meta WHERE key = 'matchers'").fetchone()
        if written is None or written[0] != MATCHERS_VERSION:
            if row is not None and self.count():  # patterns of an older Spanwise
                from app.discovery.rematch import rematch_store  # it reads patterns through us

                rematch_store(self)
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('matchers', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (MATCHERS_VERSION,),
            )

    def close(self) -> None:
        self._db.close()

    def save(
        self,
        patterns: Iterable[SpanPattern],
        *,
        written: int | None = None,
        variables: Iterable[LearnedVariable] = (),
    ) -> None:
        """Write the patterns (and variables learned with them), all or none.

        ``written``: what ``writes()`` said when the caller loaded the patterns it saves; if
        another writer saved patterns since, ``StoreChanged`` is raised and nothing written.
        """
        now = time.time()
        rows = [_row(pattern, now) for pattern in patterns]
        bodies = [
            (json.dumps(v.identity), _variable_encoder.encode(v).decode(), now) for v in variables
        ]
        with self.transaction():
            if written is not None and self.writes() != written:
                raise StoreChanged("another writer saved patterns since they were loaded")
            self._upsert(rows)
            self._db.executemany(
                "INSERT INTO learned_variables (identity, body, updated_unix_s) VALUES (?, ?, ?) "
                "ON CONFLICT (identity) DO UPDATE SET body = excluded.body, "
                "updated_unix_s = excluded.updated_unix_s",
                bodies,
            )

    def learned_variables(self) -> list[LearnedVariable]:
        """The variables discovery learned, oldest first (``app.discovery.variables``)."""
        cursor = self._db.execute("SELECT body FROM learned_variables ORDER BY id")
        return [_variable_decoder.decode(str(body)) for (body,) in cursor]

    def writes(self) -> int:
        """How many times patterns were saved: it changes when any writer, in any process,
        saves statistics, edges or overrides, and not for names, classifications or chats."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'writes'").fetchone()
        return int(row[0]) if row else 0

    def _upsert(self, rows: list[tuple[object, ...]]) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('writes', '1') "
            "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )
        self._db.executemany(
            """
                INSERT INTO patterns (id, name, service, span_kind, family, operation,
                    matcher_fields, matchers, hints, stats, parents, children, updated_unix_s,
                    merged_into, exclusions)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET
                    family = excluded.family,
                    operation = excluded.operation, matcher_fields = excluded.matcher_fields,
                    matchers = excluded.matchers, hints = excluded.hints,
                    stats = excluded.stats, parents = excluded.parents,
                    children = excluded.children, updated_unix_s = excluded.updated_unix_s,
                    merged_into = excluded.merged_into, exclusions = excluded.exclusions
                """,
            rows,
        )

    def load(self, *, sketches: bool = True, timelines: bool = True) -> list[SpanPattern]:
        """Every pattern. ``sketches=False`` leaves duration sketches and timelines empty,
        ``timelines=False`` the timelines only: decoding them is most of the cost, and
        browsing needs counts, names and at most overall percentiles (``load_ids`` then
        gives the few patterns whose durations over time are wanted)."""
        cursor = self._db.execute(
            "SELECT id, name, service, span_kind, family, operation, matchers, hints, stats, "
            "parents, children, merged_into, exclusions FROM patterns ORDER BY id"
        )
        return [_pattern(row, sketches, timelines and sketches) for row in cursor]

    def load_activity(self) -> dict[int, StoredActivity]:
        """Every live pattern's timeline, sketches left encoded: what a time window's numbers
        across all patterns are read from (``app.facts.activity``), a tenth of the cost of
        loading the patterns."""
        cursor = self._db.execute("SELECT id, stats FROM patterns WHERE merged_into IS NULL")
        found: dict[int, StoredActivity] = {}
        for pattern_id, stats in cursor:
            stored = _timeline_decoder.decode(stats)
            found[int(pattern_id)] = (stored.timeline_width_s, stored.timeline)
        return found

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM patterns").fetchone()[0])

    def load_ids(self, ids: Iterable[int]) -> dict[int, SpanPattern]:
        """Some patterns in full, by id."""
        wanted = sorted(set(ids))
        found: dict[int, SpanPattern] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            cursor = self._db.execute(
                "SELECT id, name, service, span_kind, family, operation, matchers, hints, stats, "
                f"parents, children, merged_into, exclusions FROM patterns WHERE id IN ({marks})",
                chunk,
            )
            for row in cursor:
                found[int(row[0])] = _pattern(row, True, True)
        return found

    def data_version(self) -> int:
        """Changes whenever another connection commits: a cheap "did the store change?"."""
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def save_with_override(
        self, patterns: Iterable[SpanPattern], override: Override, author: str
    ) -> int:
        """Store an override and the patterns it re-derived, in one transaction."""
        now = time.time()
        rows = [_row(pattern, now) for pattern in patterns]
        with self.transaction():
            cursor = self._db.execute(
                "INSERT INTO overrides (body, author, created_unix_s) VALUES (?, ?, ?)",
                (encode_override(override), author, now),
            )
            self._upsert(rows)
        return int(cursor.lastrowid or 0)

    def overrides(self) -> list[StoredOverride]:
        cursor = self._db.execute(
            "SELECT id, body, author, created_unix_s FROM overrides ORDER BY id"
        )
        return [
            StoredOverride(int(i), decode_override(str(body)), str(author), float(created))
            for i, body, author, created in cursor
        ]

    def record_run(self, source: dict[str, Any], spans: int) -> None:
        """Remember where a run's spans came from, so a split can replay them."""
        self._db.execute(
            "INSERT INTO runs (source, spans, finished_unix_s) VALUES (?, ?, ?)",
            (json.dumps(source, sort_keys=True), spans, time.time()),
        )

    def runs(self) -> list[tuple[dict[str, Any], int]]:
        cursor = self._db.execute("SELECT source, spans FROM runs ORDER BY id")
        return [(json.loads(str(source)), int(spans)) for source, spans in cursor]

    def retired_names(self) -> set[str]:
        """Names patterns had before they were renamed: they keep resolving to those
        patterns (``app.classify.store`` keeps them), so no new pattern may take one."""
        exists = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'aliases'"
        ).fetchone()
        if exists is None:
            return set()
        return {str(row[0]) for row in self._db.execute("SELECT name FROM aliases")}

    @property
    def connection(self) -> sqlite3.Connection:
        """The store's connection, for the tables that live beside the patterns."""
        return self._db

    def transaction(self) -> _Transaction:
        """All or nothing: ``with store.transaction(): ...``."""
        return _Transaction(self._db)


class StoreChanged(Exception):
    """Patterns were saved by another writer since the caller loaded its own copy."""


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


def _row(pattern: SpanPattern, now: float) -> tuple[object, ...]:
    return (
        pattern.id,
        pattern.name,
        pattern.service,
        pattern.span_kind,
        pattern.family.value,
        pattern.operation,
        json.dumps([m.field_name for m in pattern.matchers]),
        json.dumps([m.as_dict() for m in pattern.matchers]),
        json.dumps(pattern.hints),
        _encode_stats(pattern.stats),
        json.dumps({str(k): v for k, v in pattern.parents.items()}),
        json.dumps({str(k): v for k, v in pattern.children.items()}),
        now,
        pattern.merged_into,
        json.dumps(
            [
                {"sibling": sibling, "matchers": [m.as_dict() for m in excluded]}
                for sibling, excluded in zip(pattern.excluded_ids, pattern.exclusions, strict=True)
            ]
        ),
    )


def _pattern(row: tuple[Any, ...], sketches: bool = True, timelines: bool = True) -> SpanPattern:
    (pid, name, service, kind, family, operation, matchers, hints, stats, parents, children) = row[
        :11
    ]
    exclusions = json.loads(str(row[12]))
    return SpanPattern(
        id=int(pid),
        service=str(service),
        span_kind=str(kind),
        family=Family(family),
        operation=str(operation),
        matchers=tuple(matcher_of(m) for m in json.loads(str(matchers))),
        hints=json.loads(str(hints)),
        name=str(name),
        stats=_decode_stats(bytes(stats), sketches, timelines),
        parents=Counter({int(k): v for k, v in json.loads(str(parents)).items()}),
        children=Counter({int(k): v for k, v in json.loads(str(children)).items()}),
        merged_into=None if row[11] is None else int(row[11]),
        exclusions=tuple(
            tuple(matcher_of(m) for m in excluded["matchers"]) for excluded in exclusions
        ),
        excluded_ids=tuple(int(excluded["sibling"]) for excluded in exclusions),
    )


def matcher_of(stored: dict[str, str]) -> Matcher:
    """A matcher from its ``as_dict`` form."""
    return Matcher(
        FieldType(stored["field_type"]),
        stored["field_name"],
        MatchType(stored["match_type"]),
        stored["match_value"],
    )


def _encode_stats(stats: PatternStats) -> bytes:
    return _encoder.encode(
        _StoredStats(
            count=stats.count,
            error_count=stats.error_count,
            first_seen_unix_nano=stats.first_seen_unix_nano,
            last_seen_unix_nano=stats.last_seen_unix_nano,
            max_duration_ns=stats.max_duration_ns,
            sketch=encode_sketch(stats.durations_ms),
            status_codes=dict(stats.status_codes),
            exception_types=dict(stats.exception_types),
            typical=stats.typical,
            slowest=stats.slowest_spans(),
            errors=stats.errors,
            timeline_width_s=stats.timeline.width_s,
            timeline=_encode_timeline(stats.timeline),
            profile=(
                stats.profile.profiled,
                stats.profile.profiled_slow,
                {
                    key: {value: (seen, slow) for value, (seen, slow) in counts.items()}
                    for key, counts in stats.profile.values.items()
                },
                sorted(stats.profile.dropped),
            ),
            calls={
                child_id: (
                    timeline.width_s,
                    [
                        (start, calls, callers)
                        for start, (calls, callers) in timeline.buckets.items()
                    ],
                )
                for child_id, timeline in stats.calls.items()
            },
            lag_sketch=encode_sketch(stats.lag_ms) if stats.lag_ms.count else b"",
            lag_timeline_width_s=stats.lag_timeline.width_s,
            lag_timeline=_encode_timeline(stats.lag_timeline),
            time_profile=(
                [_encode_band(band) for band in stats.time_profile.bands]
                if stats.time_profile.spans
                else []
            ),
        )
    )


def _encode_band(band: TimeBand) -> _StoredBand:
    children = {i: (child.calls, child.path_ns) for i, child in band.children.items()}
    return (band.spans, band.total_ns, band.self_ns, children)


def _decode_profile(stored: list[_StoredBand]) -> TimeProfile:
    if len(stored) != 2:
        return TimeProfile()
    slow, typical = (
        TimeBand(
            spans,
            total_ns,
            self_ns,
            {i: ChildTime(calls, path_ns) for i, (calls, path_ns) in children.items()},
        )
        for spans, total_ns, self_ns, children in stored
    )
    return TimeProfile(slow, typical)


def _encode_timeline(timeline: Timeline) -> list[tuple[int, int, int, bytes]]:
    return [
        (b.start_s, b.count, b.errors, encode_sketch(b.durations_ms)) for b in timeline.ordered()
    ]


def _decode_timeline(width_s: int, buckets: list[tuple[int, int, int, bytes]]) -> Timeline:
    timeline = Timeline(width_s)
    timeline.buckets = {
        start: TimeBucket(start, count, errors, decode_sketch(data))
        for start, count, errors, data in buckets
    }
    return timeline


def _decode_stats(data: bytes, sketches: bool = True, timelines: bool = True) -> PatternStats:
    stored = _decoder.decode(data)
    slowest = [slow_entry(s.end_unix_nano - s.start_unix_nano, s) for s in stored.slowest]
    heapq.heapify(slowest)
    sketch = decode_sketch(stored.sketch) if sketches else DDSketch(SKETCH_ACCURACY)
    timeline = _decode_timeline(stored.timeline_width_s, stored.timeline if timelines else [])
    lag_timeline = _decode_timeline(
        stored.lag_timeline_width_s, stored.lag_timeline if timelines else []
    )
    lag_sketch = (
        decode_sketch(stored.lag_sketch)
        if sketches and stored.lag_sketch
        else DDSketch(SKETCH_ACCURACY)
    )
    return PatternStats(
        count=stored.count,
        error_count=stored.error_count,
        first_seen_unix_nano=stored.first_seen_unix_nano,
        last_seen_unix_nano=stored.last_seen_unix_nano,
        max_duration_ns=stored.max_duration_ns,
        durations_ms=sketch,  # type: ignore[arg-type]
        status_codes=Counter(stored.status_codes),
        exception_types=Counter(stored.exception_types),
        typical=stored.typical,
        slowest=slowest,
        errors=stored.errors,
        timeline=timeline,
        profile=AttributeProfile(
            profiled=stored.profile[0],
            profiled_slow=stored.profile[1],
            values={
                key: {value: [seen, slow] for value, (seen, slow) in counts.items()}
                for key, counts in stored.profile[2].items()
            },
            dropped=set(stored.profile[3]),
        ),
        calls={
            child_id: CallTimeline(
                width_s, {start: [calls, callers] for start, calls, callers in buckets}
            )
            for child_id, (width_s, buckets) in stored.calls.items()
        },
        lag_ms=lag_sketch,  # type: ignore[arg-type]
        lag_timeline=lag_timeline,
        time_profile=_decode_profile(stored.time_profile),
    )
