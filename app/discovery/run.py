"""One discovery run: spans from any source into the stored patterns, saved at the end.

Sources are plain iterables of span batches, so the sample system, OTLP files, the
receiver and Tempo all feed discovery the same way.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.discovery.cluster import Normalizer, PatternClusterer
from app.discovery.normalize import normalize
from app.discovery.overrides import split_keys
from app.discovery.patterns import SpanPattern
from app.discovery.store import PatternStore
from app.sample import Fault, SampleConfig, generate_traces
from app.settings import Settings
from app.telemetry.metrics import DISCOVERY_SPANS, DISCOVERY_SPANS_PER_SECOND, PATTERNS
from app.telemetry.tracing import tracer
from connectors.otlp_files import read_otlp_file
from connectors.spans import Span
from connectors.tempo_sample import SamplePlan

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
    """Load the known patterns and overrides, take batches, save once at the end.

    ``source`` says where the spans come from (``sample_source``, ``files_source``...); it is
    recorded with the run so that re-deriving a split pattern can replay it. A run without
    one (spans pushed to the receiver) cannot be replayed.
    """

    def __init__(
        self, store: PatternStore, normalizer: Normalizer, *, source: Source | None = None
    ) -> None:
        self.store = store
        self.source = source or {"kind": "pushed"}
        overrides = [stored.override for stored in store.overrides()]
        self.clusterer = PatternClusterer(
            normalizer,
            known=store.load(),
            unindexed=split_keys(overrides),
            retired_names=store.retired_names(),
            variables=store.learned_variables(),
            overrides=overrides,
        )
        self.report = RunReport(patterns_before=len(self.clusterer.patterns))
        self._started = time.perf_counter()

    def accept(self, spans: Sequence[Span]) -> None:
        with tracer().start_as_current_span("discovery.cluster") as span:
            span.set_attribute("spanwise.spans", len(spans))
            self.clusterer.accept(spans)
        self.report.spans += len(spans)
        DISCOVERY_SPANS.inc(len(spans))

    def checkpoint(self, *, written: int | None = None) -> None:
        """Save the patterns that changed since the last checkpoint; the run goes on (live
        discovery saves so: a save costs what changed, not every pattern). ``written``: as
        for ``PatternStore.save``, which raises ``StoreChanged`` when another writer saved
        patterns since this run's copy was made."""
        touched = self.clusterer.touched
        changed = [self.clusterer.patterns[i] for i in sorted(touched)]
        with tracer().start_as_current_span("discovery.save") as span:
            self.store.save(changed, written=written, variables=self.clusterer.learned)
            touched.clear()
            span.set_attribute("spanwise.patterns", len(changed))
        PATTERNS.set(len(self.clusterer.patterns))

    def finish(self) -> RunReport:
        self.clusterer.finish()
        with tracer().start_as_current_span("discovery.save") as span:
            self.store.save(self.clusterer.patterns, variables=self.clusterer.learned)
            self.store.record_run(self.source, self.report.spans)
            span.set_attribute("spanwise.patterns", len(self.clusterer.patterns))
        self.report.seconds = time.perf_counter() - self._started
        self.report.patterns_after = len(self.clusterer.patterns)
        DISCOVERY_SPANS_PER_SECOND.set(self.report.spans_per_s)
        PATTERNS.set(self.report.patterns_after)
        return self.report

    @property
    def patterns(self) -> list[SpanPattern]:
        return self.clusterer.patterns


Source = dict[str, Any]
"""Where a run's spans came from, as JSON: ``{"kind": "sample", "seed": 42, ...}``."""


def sample_source(seed: int, traces: int, faults: Sequence[Fault] = ()) -> Source:
    return {
        "kind": "sample",
        "seed": seed,
        "traces": traces,
        "faults": [
            {"name": f.name.value, "start": f.start, "end": f.end, "intensity": f.intensity}
            for f in faults
        ],
    }


def tempo_source(settings: Settings, query: str, plan: SamplePlan | None) -> Source:
    """A Tempo pull without its window (``app.discovery.counted.Piece.record`` adds it)."""
    return {
        "kind": "tempo",
        "url": settings.tempo_url,
        "tenant": settings.tempo_tenant,
        "query": query,
        "sample": None if plan is None else [plan.slice_s, plan.traces_per_slice],
    }


def files_source(paths: Iterable[Path]) -> Source:
    """The files by path, content and size: a file whose content changed is another
    source; one that grew is read from where an earlier run stopped (``app.discovery
    .counted.grown_files``), which ``starts`` records."""
    resolved = [path.resolve() for path in paths]
    return {
        "kind": "files",
        "paths": [str(path) for path in resolved],
        "sha256": [file_digest(path) for path in resolved],
        "sizes": [path.stat().st_size for path in resolved],
    }


def file_digest(path: Path, size: int | None = None) -> str:
    """The sha256 of the file, or of its first ``size`` bytes."""
    digest = hashlib.sha256()
    left = path.stat().st_size if size is None else size
    with path.open("rb") as stream:
        while left > 0 and (chunk := stream.read(min(1 << 20, left))):
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def replay_batches(source: Source, problem: Callable[[str], None]) -> Iterator[list[Span]] | None:
    """The spans of a recorded source again, or None when they cannot be read again."""
    if source.get("kind") == "sample":
        faults = tuple(Fault(**fault) for fault in source.get("faults", []))
        return sample_batches(int(source["seed"]), int(source["traces"]), faults)
    if source.get("kind") == "files":
        paths = [Path(path) for path in source["paths"]]
        if not all(path.is_file() for path in paths):
            return None
        if "sha256" in source and source["sha256"] != [file_digest(path) for path in paths]:
            return None  # changed since: these are not the spans that were counted
        return file_batches(paths, problem, source.get("starts"))
    return None


def describe_source(source: Source) -> str:
    kind = source.get("kind")
    if kind == "sample":
        return f"the sample system (seed {source['seed']}, {source['traces']:,} traces)"
    if kind == "files":
        return "files " + ", ".join(source["paths"])
    if kind == "tempo":
        return f"Tempo {source.get('url', '')} {source.get('query', '')} window " + (
            f"{source.get('start')}..{source.get('end')}"
        )
    return "spans pushed to the receiver"


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


def file_batches(
    paths: Iterable[Path], problem: Callable[[str], None], starts: Sequence[int] | None = None
) -> Iterator[list[Span]]:
    """The spans of OTLP files, document by document; unreadable parts go to ``problem``.
    ``starts``: per file, the byte to read from (what an earlier run counted is before)."""
    for index, path in enumerate(paths):
        start = starts[index] if starts else 0
        for document in read_otlp_file(path, start):
            if document.error is not None:
                problem(f"{document.where}: {document.error}")
            for rejected in document.batch.rejected:
                problem(f"{document.where}: {rejected}")
            if document.batch.spans:
                yield document.batch.spans


def discover_sample(
    store: PatternStore, seed: int, traces: int, faults: tuple[Fault, ...] = ()
) -> RunReport:
    """One discovery run over the sample system into ``store``, recorded as replayable."""
    run = DiscoveryRun(store, normalize, source=sample_source(seed, traces, faults))
    for batch in sample_batches(seed, traces, faults):
        run.accept(batch)
    return run.finish()
