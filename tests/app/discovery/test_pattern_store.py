"""Patterns survive a restart, and a kill in the middle of a save, whole."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path

import msgspec

from app.discovery.cluster import PatternClusterer
from app.discovery.normalize import normalize
from app.discovery.operation import Family, FieldType, Matcher, MatchType, Operation
from app.discovery.store import PatternStore
from connectors.spans import Span, SpanEvent, SpanKind, StatusCode


def by_name(span: Span) -> Operation:
    matcher = Matcher(FieldType.SPAN_FIELD, "name", MatchType.EXACT, span.name)
    return Operation(Family.GENERIC, span.name, (matcher,), {"operation": span.name})


def span(number: int, name: str, parent: int | None = None, error: bool = False) -> Span:
    start = 1_700_000_000_000_000_000 + number * 1_000_000
    return Span(
        trace_id="ab" * 16,
        span_id=f"{number:016x}",
        parent_span_id=f"{parent:016x}" if parent else None,
        name=name,
        kind=SpanKind.SERVER,
        start_unix_nano=start,
        end_unix_nano=start + number * 1000,
        attributes={"http.response.status_code": 500 if error else 200, "raw": b"\x00"},
        resource={"service.name": "shop"},
        status_code=StatusCode.ERROR if error else StatusCode.UNSET,
        events=[SpanEvent("exception", start, {"exception.type": "Boom"})] if error else [],
    )


def test_patterns_and_statistics_survive_a_restart(tmp_path: Path) -> None:
    first = PatternClusterer(by_name)
    first.accept([span(i, "root") for i in range(1, 50)])
    first.accept([span(100 + i, "child", parent=i, error=i % 7 == 0) for i in range(1, 50)])
    store = PatternStore(tmp_path / "patterns.sqlite")
    store.save(first.patterns)
    store.close()

    reopened = PatternStore(tmp_path / "patterns.sqlite")
    loaded = reopened.load()
    assert [p.name for p in loaded] == [p.name for p in first.patterns]
    for before, after in zip(first.patterns, loaded, strict=True):
        assert after.stats.summary() == before.stats.summary()
        assert after.matchers == before.matchers and after.key == before.key
        assert after.parents == before.parents and after.children == before.children
        assert [s.span_id for s in after.stats.errors] == [s.span_id for s in before.stats.errors]
        assert after.stats.slowest_spans() == before.stats.slowest_spans()
        assert after.stats.typical == before.stats.typical

    # A second run adds to the known patterns instead of making new ones.
    second = PatternClusterer(by_name, known=loaded)
    second.accept([span(1000 + i, "root") for i in range(1, 11)])
    assert len(second.patterns) == 2
    assert second.patterns[0].stats.count == 59
    reopened.save(second.patterns)
    assert reopened.load()[0].stats.count == 59


def test_calls_over_time_and_lag_survive_a_restart_and_old_stores_load(tmp_path: Path) -> None:
    clusterer = PatternClusterer(by_name)
    clusterer.accept([span(i, "root") for i in range(1, 20)])
    clusterer.accept([span(100 + i, "child", parent=1 + i % 5) for i in range(1, 20)])
    root, child = clusterer.patterns
    root.stats.add_lags([1_700_000_000] * 3, [10.0, 20.0, 30.0])
    store = PatternStore(tmp_path / "patterns.sqlite")
    store.save(clusterer.patterns)
    loaded = store.load()[0].stats
    assert loaded.calls[child.id].buckets == root.stats.calls[child.id].buckets
    assert sum(c for c, _ in loaded.calls[child.id].buckets.values()) == 19
    assert sum(p for _, p in loaded.calls[child.id].buckets.values()) == 5  # parent spans
    assert loaded.lag_count == 3 and loaded.lag_timeline.ordered()[0].count == 3

    # A store written before calls over time and lags: its stats end after the profile.
    row = store.connection.execute("SELECT stats FROM patterns WHERE id = 0").fetchone()
    fields = msgspec.msgpack.decode(row[0])
    old = msgspec.msgpack.encode(fields[:14])
    store.connection.execute("UPDATE patterns SET stats = ? WHERE id = 0", (old,))
    before = store.load()[0].stats
    assert before.count == 19 and before.calls == {} and before.lag_count == 0
    store.close()


def _save_forever(path: str) -> None:
    """Save the same 200 patterns again and again, marked with a generation: the writer
    spends nearly all its time inside saves, where a kill would tear a non-atomic one."""
    store = PatternStore(Path(path))
    clusterer = PatternClusterer(by_name, learning=False)  # 200 patterns, not one variable
    clusterer.accept([span(i, f"op {i % 200}") for i in range(1, 2000)])
    generation = 0
    while True:
        generation += 1
        for pattern in clusterer.patterns:
            pattern.hints["generation"] = str(generation)
        store.save(clusterer.patterns)


def test_a_kill_during_saves_leaves_a_whole_store(tmp_path: Path) -> None:
    path = tmp_path / "patterns.sqlite"
    context = multiprocessing.get_context("spawn")
    writer = context.Process(target=_save_forever, args=(str(path),))
    writer.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if path.exists() and len(PatternStore(path).load()) == 200:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    assert writer.pid is not None
    os.kill(writer.pid, signal.SIGKILL)
    writer.join()

    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    loaded = PatternStore(path).load()
    assert len(loaded) == 200
    assert len({p.hints["generation"] for p in loaded}) == 1  # one save, not a mix of two


def test_a_store_written_with_long_matchers_gets_short_ones_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "patterns.sqlite"
    store = PatternStore(path)
    clusterer = PatternClusterer(normalize)
    urls = [f"http://cart/orders/{n}" for n in range(40)] + ["http://cart/orders/search"] * 20
    client_spans = [
        msgspec.structs.replace(
            span(number, "GET"),
            kind=SpanKind.CLIENT,
            attributes={"http.request.method": "GET", "url.full": url},
        )
        for number, url in enumerate(urls, 1)
    ]
    clusterer.accept(client_spans)
    store.save(clusterer.patterns)
    # as schema 2 wrote them: every {id} spelled out, no exclusions
    long_id = "(?:" + "|".join(["[0-9]+"] * 200) + ")"
    store.connection.execute(
        "UPDATE patterns SET matchers = json_replace(matchers, '$[1].match_value', ?) "
        "WHERE operation = 'GET cart /orders/{id}'",
        (f"https?://cart(?::(?:80|443))?/orders/{long_id}(?:[?#].*)?",),
    )
    store.connection.execute("ALTER TABLE patterns DROP COLUMN exclusions")
    store.connection.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    store.connection.execute("DELETE FROM meta WHERE key = 'matchers'")
    store.close()

    reopened = {p.operation: p for p in PatternStore(path).load()}
    general = reopened["GET cart /orders/{id}"]
    assert (
        general.matchers[1].match_value == "https?://cart(?::(?:80|443))?/orders/[^/?#]+(?:[?#].*)?"
    )
    assert [[m.match_value for m in e] for e in general.exclusions] == [
        ["https?://cart(?::(?:80|443))?/orders/search(?:[?#].*)?"]
    ]
    assert all(general.matches(s) == (s.attributes["url.full"][-1] != "h") for s in client_spans)
