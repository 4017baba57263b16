"""One discovery run: spans from any source into the stored patterns, saved at the end.

Sources are plain iterables of span batches, so the sample system, OTLP files, the
receiver and Tempo all feed discovery the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.discovery.cluster import Normalizer, PatternClusterer
from app.discovery.patterns import SpanPattern
from app.discovery.store import PatternStore
from app.sample import Fault, SampleConfig, generate_traces
from connectors.otlp_files import read_otlp_file
from connectors.spans import Span

PATTERN_STORE_FILE = "patterns.sqlite"


def pattern_store_path(data_dir: Path) -> Path:
    return data_dir / PATTERN_STORE_FILE


@dataclass
class RunReport:
    spans: int = 0
    seconds: float = 0.0
    patterns_before: int = 0
    patterns_after: int = 0
    problems: list[str] = field(default_factory=list)
    """Documents or spans that could not be read, with where and why."""

    @property
    def new_patterns(self) -> int:
        return self.patterns_after - self.patterns_before

    @property
    def spans_per_s(self) -> float:
        return self.spans / self.seconds if self.seconds > 0 else 0.0


class DiscoveryRun:
    """Load the known patterns, take batches, save once at the end (or on ``save``)."""

    def __init__(self, store: PatternStore, normalizer: Normalizer) -> None:
        self.store = store
        self.clusterer = PatternClusterer(normalizer, known=store.load())
        self.report = RunReport(patterns_before=len(self.clusterer.patterns))
        self._started = time.perf_counter()

    def accept(self, spans: Sequence[Span]) -> None:
        self.clusterer.accept(spans)
        self.report.spans += len(spans)

    def finish(self) -> RunReport:
        self.store.save(self.clusterer.patterns)
        self.report.seconds = time.perf_counter() - self._started
        self.report.patterns_after = len(self.clusterer.patterns)
        return self.report

    @property
    def patterns(self) -> list[SpanPattern]:
        return self.clusterer.patterns


def sample_batches(
    seed: int, traces: int, faults: tuple[Fault, ...] = (), spans_per_batch: int = 5000
) -> Iterator[list[Span]]:
    batch: list[Span] = []
    for trace in generate_traces(SampleConfig(seed=seed, traces=traces, faults=faults)):
        batch.extend(trace.spans)
        if len(batch) >= spans_per_batch:
            yield batch
            batch = []
    if batch:
        yield batch


def file_batches(paths: Iterable[Path], problem: Callable[[str], None]) -> Iterator[list[Span]]:
    """The spans of OTLP files, document by document; unreadable parts go to ``problem``."""
    for path in paths:
        for document in read_otlp_file(path):
            if document.error is not None:
                problem(f"{document.where}: {document.error}")
            for rejected in document.batch.rejected:
                problem(f"{document.where}: {rejected}")
            if document.batch.spans:
                yield document.batch.spans
