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
from pathlib import Path
from typing import Any

import msgspec
from ddsketch.pb.ddsketch_pb2 import DDSketch as DDSketchMessage
from ddsketch.pb.proto import DDSketchProto

from app.discovery.operation import Family, FieldType, Matcher, MatchType
from app.discovery.patterns import SpanPattern
from app.discovery.stats import PatternStats
from connectors.spans import Span

SCHEMA_VERSION = 1

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
    UNIQUE (service, span_kind, operation, matcher_fields)
);
"""


class _StoredStats(msgspec.Struct, array_like=True):
    count: int
    error_count: int
    first_seen_unix_nano: int
    last_seen_unix_nano: int
    max_duration_ns: int
    sketch: bytes
    status_codes: dict[str, int]
    exception_types: dict[str, int]
    typical: list[Span]
    slowest: list[Span]
    errors: list[Span]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_StoredStats)


class StoreError(RuntimeError):
    """The pattern store cannot be used; the message says why and what to do."""


class PatternStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        elif int(row[0]) > SCHEMA_VERSION:
            raise StoreError(
                f"{path} was written by a newer Spanwise (schema {row[0]}); upgrade Spanwise"
            )

    def close(self) -> None:
        self._db.close()

    def save(self, patterns: Iterable[SpanPattern]) -> None:
        """Write the patterns, all or none."""
        now = time.time()
        rows = [_row(pattern, now) for pattern in patterns]
        with self._transaction():
            self._db.executemany(
                """
                INSERT INTO patterns (id, name, service, span_kind, family, operation,
                    matcher_fields, matchers, hints, stats, parents, children, updated_unix_s)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET
                    name = excluded.name, matchers = excluded.matchers, hints = excluded.hints,
                    stats = excluded.stats, parents = excluded.parents,
                    children = excluded.children, updated_unix_s = excluded.updated_unix_s
                """,
                rows,
            )

    def load(self) -> list[SpanPattern]:
        cursor = self._db.execute(
            "SELECT id, name, service, span_kind, family, operation, matchers, hints, stats, "
            "parents, children FROM patterns ORDER BY id"
        )
        return [_pattern(row) for row in cursor]

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


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
    )


def _pattern(row: tuple[Any, ...]) -> SpanPattern:
    (pid, name, service, kind, family, operation, matchers, hints, stats, parents, children) = row
    return SpanPattern(
        id=int(pid),
        service=str(service),
        span_kind=str(kind),
        family=Family(family),
        operation=str(operation),
        matchers=tuple(
            Matcher(
                FieldType(m["field_type"]),
                m["field_name"],
                MatchType(m["match_type"]),
                m["match_value"],
            )
            for m in json.loads(str(matchers))
        ),
        hints=json.loads(str(hints)),
        name=str(name),
        stats=_decode_stats(bytes(stats)),
        parents=Counter({int(k): v for k, v in json.loads(str(parents)).items()}),
        children=Counter({int(k): v for k, v in json.loads(str(children)).items()}),
    )


def _encode_stats(stats: PatternStats) -> bytes:
    return _encoder.encode(
        _StoredStats(
            count=stats.count,
            error_count=stats.error_count,
            first_seen_unix_nano=stats.first_seen_unix_nano,
            last_seen_unix_nano=stats.last_seen_unix_nano,
            max_duration_ns=stats.max_duration_ns,
            sketch=DDSketchProto.to_proto(stats.durations_ms).SerializeToString(),
            status_codes=dict(stats.status_codes),
            exception_types=dict(stats.exception_types),
            typical=stats.typical,
            slowest=stats.slowest_spans(),
            errors=stats.errors,
        )
    )


def _decode_stats(data: bytes) -> PatternStats:
    stored = _decoder.decode(data)
    slowest = [(s.end_unix_nano - s.start_unix_nano, s.span_id, s) for s in stored.slowest]
    heapq.heapify(slowest)
    sketch = DDSketchProto.from_proto(DDSketchMessage.FromString(stored.sketch))
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
    )
