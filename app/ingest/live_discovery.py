"""Patterns from the spans pushed to the receiver, while ``spanwise serve`` runs.

Pushed spans wait in a buffer and are folded into their tenant's patterns every
``live_discovery_s`` seconds (sooner when the buffer is half full) by one background
thread: discovered, saved, and, when new patterns appeared, classified (offline, or by the
model the settings name) and embedded for search by meaning. Statistics grow with the
patterns, not the spans: the buffer is emptied at every fold.

The buffer holds at most ``live_buffer_spans`` spans. Beyond that ``accept`` refuses with
``Backlogged`` and the receiver answers 503 with Retry-After, which OTLP exporters retry:
spans wait in the exporter's queue rather than in this process's memory.

A fold keeps its discovery run open between folds, so that a fold costs the new spans and
a save of what they changed, not a load of every pattern. It takes the store's writer lock
(``app.discovery.writers``) against writers in this process, and its save is refused when
any writer, in any process, saved patterns since its run was loaded
(``PatternStore.writes``): the run is then loaded again and the spans added to it, so a
fold never saves over a split, a merge or another discovery run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.classify.build import model_classifier
from app.classify.run import classify_patterns
from app.discovery.normalize import normalize
from app.discovery.run import DiscoveryRun
from app.discovery.store import PatternStore, StoreChanged
from app.discovery.writers import store_writer
from app.settings import Settings
from app.tenancy import tenant_settings, tenant_store_path
from connectors.spans import Span

log = logging.getLogger("spanwise.live")

MAX_PROBLEMS = 20
MAX_ATTEMPTS = 3


class Backlogged(Exception):
    """The buffer is full: the sender should retry after ``retry_after_s``."""

    def __init__(self, buffered: int, retry_after_s: int) -> None:
        super().__init__(f"{buffered:,} spans are waiting to be folded into patterns")
        self.retry_after_s = retry_after_s


@dataclass
class _OpenRun:
    store: PatternStore
    run: DiscoveryRun
    version: int = 0
    """``PatternStore.writes()`` after this run's last save (or before its load)."""


@dataclass
class FoldReport:
    tenant: str
    spans: int
    patterns: int
    new_patterns: int
    classified: bool


@dataclass
class LiveTotals:
    spans: int = 0
    folds: int = 0
    problems: list[str] = field(default_factory=list)


class LiveDiscovery:
    """``accept(tenant, spans)`` from the receiver; ``start()`` folds in the background."""

    def __init__(self, settings: Settings, *, classify: bool = True, embed: bool = True) -> None:
        self._settings = settings
        self._classify = classify
        self._embed = embed
        self._buffers: dict[str, list[Span]] = {}
        self._buffered = 0
        self._buffer_lock = threading.Lock()
        self._fold_lock = threading.Lock()
        self._runs: dict[str, _OpenRun] = {}
        self._failures: dict[str, int] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.totals = LiveTotals()

    @property
    def buffered(self) -> int:
        return self._buffered

    def accept(self, tenant: str, spans: Sequence[Span]) -> None:
        limit = self._settings.live_buffer_spans
        with self._buffer_lock:
            if self._buffered and self._buffered + len(spans) > limit:
                raise Backlogged(self._buffered, max(1, round(self._settings.live_discovery_s)))
            self._buffers.setdefault(tenant, []).extend(spans)
            self._buffered += len(spans)
            half_full = self._buffered >= limit // 2
        if half_full:
            self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="live-discovery", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop the thread, fold what is waiting, and close the stores."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.fold()
        if self._buffered:  # the last fold failed: there is no next one to keep them for
            self._problem(f"{self._buffered:,} spans could not be folded before shutdown")
        with self._fold_lock:
            for tenant in list(self._runs):
                self._close_run(tenant)

    def fold(self) -> list[FoldReport]:
        """Fold every waiting span into its tenant's patterns now."""
        with self._fold_lock:
            with self._buffer_lock:
                waiting, self._buffers, self._buffered = self._buffers, {}, 0
            reports = []
            for tenant, spans in waiting.items():
                try:
                    reports.append(self._fold(tenant, spans))
                    self._failures.pop(tenant, None)
                except Exception as exc:  # a store that fails must not stop the receiver
                    self._close_run(tenant)  # its state is unknown: reload next time
                    self._failed(tenant, spans, exc)
            return reports

    def _failed(self, tenant: str, spans: list[Span], exc: Exception) -> None:
        """Keep the spans for the next fold (a full disk frees up, a locked store unlocks);
        after ``MAX_ATTEMPTS`` folds in a row that failed, let them go and say so."""
        attempts = self._failures.get(tenant, 0) + 1
        if attempts < MAX_ATTEMPTS:
            self._failures[tenant] = attempts
            with self._buffer_lock:
                self._buffers.setdefault(tenant, [])[:0] = spans
                self._buffered += len(spans)
            self._problem(
                f"folding {len(spans):,} spans of tenant {tenant} failed, kept for "
                f"the next fold: {exc!r}"
            )
        else:
            self._failures.pop(tenant, None)
            self._problem(
                f"folding {len(spans):,} spans of tenant {tenant} failed "
                f"{attempts} times, so they are dropped: {exc!r}"
            )

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._settings.live_discovery_s)
            self._wake.clear()
            if not self._stop.is_set():
                self.fold()

    def _fold(self, tenant: str, spans: list[Span]) -> FoldReport:
        path = tenant_store_path(self._settings, tenant)
        path.parent.mkdir(parents=True, exist_ok=True)
        with store_writer(path):
            new, opened = self._fold_into(tenant, path, spans)
        # Classifying writes names and classifications, never statistics: other writers
        # need not wait for a model to answer.
        classified = bool(new) and self._classify and self._describe(tenant, opened.store)
        self.totals.spans += len(spans)
        self.totals.folds += 1
        log.info("folded %d spans of tenant %s: %d new patterns", len(spans), tenant, new)
        return FoldReport(tenant, len(spans), len(opened.run.patterns), new, classified)

    def _fold_into(self, tenant: str, path: Path, spans: list[Span]) -> tuple[int, _OpenRun]:
        """Add the spans to the open run and save what they changed. A save refused because
        another process saved patterns meanwhile is done again over what it saved."""
        for attempt in range(2):
            opened = self._open(tenant, path)
            before = len(opened.run.patterns)
            opened.run.accept(spans)
            try:
                opened.run.checkpoint(written=opened.version)
            except StoreChanged:
                self._close_run(tenant)
                if attempt:
                    raise
                continue
            opened.version = opened.store.writes()
            return len(opened.run.patterns) - before, opened
        raise AssertionError("unreachable")

    def _open(self, tenant: str, path: Path) -> _OpenRun:
        """The tenant's open run; a new one, from what is stored, when there is none or
        another writer saved patterns since this one's last save."""
        opened = self._runs.get(tenant)
        if opened is not None and opened.store.writes() == opened.version:
            return opened
        self._close_run(tenant)
        store = PatternStore(path)
        if not any(source.get("kind") == "pushed" for source, _ in store.runs()):
            # So that a split says these spans cannot be replayed, rather than lose them
            # without a word.
            store.record_run({"kind": "pushed"}, 0)
        version = store.writes()  # before loading: a save in between is seen, not masked
        opened = self._runs[tenant] = _OpenRun(store, DiscoveryRun(store, normalize), version)
        return opened

    def _close_run(self, tenant: str) -> None:
        opened = self._runs.pop(tenant, None)
        if opened is not None:
            opened.store.close()

    def _describe(self, tenant: str, store: PatternStore) -> bool:
        """Classify (cached answers cost nothing) and embed; failures are reported, and the
        patterns stay saved under their provisional names."""
        settings = tenant_settings(self._settings, tenant)
        try:
            classify_patterns(store, model=model_classifier(settings, store))
        except Exception as exc:
            self._problem(f"classifying the patterns of tenant {tenant}: {exc!r}")
            return False
        if self._embed:
            from app.chat.index import sync_index

            try:
                sync_index(settings, store, tenant)
            except Exception as exc:
                self._problem(f"embedding the patterns of tenant {tenant}: {exc!r}")
        return True

    def _problem(self, text: str) -> None:
        log.warning("live discovery: %s", text)
        if len(self.totals.problems) < MAX_PROBLEMS:
            self.totals.problems.append(text)
