"""A case's scenario built as a user builds one: discovery, classification, a chat service.

Each scenario gets a data directory of its own, where discovery stores its patterns
(``discover_sample``, or the OTLP files through ``DiscoveryRun``), classification names and
judges them (by the model under evaluation when there is one, offline otherwise, as
``spanwise discover`` does) and their descriptions are embedded for retrieval (as
``spanwise classify`` does). The ground
truth is computed from the same spans, generated again from the same seed.

Many cases share a scenario; ``Scenarios`` builds each once per run. Live numbers from a
configured Tempo are left out: the scenario's spans were never sent to it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.chat.index import retriever, sync_index
from app.chat.model_answer import ModelAnswerer, answerer_from_settings
from app.chat.service import ChatService, GrafanaLinks
from app.classify.build import model_classifier
from app.classify.run import classify_patterns, live_patterns
from app.classify.store import ClassificationStore, Usage
from app.discovery.normalize import normalize
from app.discovery.patterns import SpanPattern
from app.discovery.run import (
    DiscoveryRun,
    discover_sample,
    file_batches,
    files_source,
    pattern_store_path,
)
from app.discovery.store import PatternStore
from app.sample import FaultName, SampleConfig, generate_traces
from app.settings import Settings
from connectors.spans import Span
from evals.cases import EvalCase, FilesScenario, SampleScenario
from evals.truth import PatternOf, ScenarioTruth, unlabelled_key


class ScenarioError(RuntimeError):
    """A scenario could not be built (unreadable files, a crash in discovery); the message
    says which and why."""


@dataclass
class BuiltScenario:
    key: str
    store: PatternStore
    chat: ChatService
    answerer: ModelAnswerer | None
    truth: ScenarioTruth
    patterns: list[SpanPattern]
    """Live patterns, with their classified names."""
    known_names: frozenset[str]
    live_names: frozenset[str]
    verdicts: dict[str, str]
    classify_usage: Usage
    spans: int
    seconds: float
    problems: list[str] = field(default_factory=list)
    _patterns_of: dict[str, PatternOf] = field(default_factory=dict)

    def pattern_of(self, key: str) -> PatternOf:
        found = self._patterns_of.get(key)
        if found is None:
            found = self._patterns_of[key] = self.truth.pattern_of(key, self.patterns)
        return found


class Scenarios:
    """Builds the scenarios of a run, once each, under ``work_dir``.

    ``model`` is the chat model under evaluation; None runs offline, answers being the
    facts written out.
    """

    def __init__(self, settings: Settings, work_dir: Path, *, model: str | None) -> None:
        self._settings = settings
        self._work_dir = work_dir
        self._model = model
        self._built: dict[str, BuiltScenario] = {}
        self._failed: dict[str, str] = {}

    def get(self, case: EvalCase) -> BuiltScenario:
        scenario = case.scenario
        if isinstance(scenario, FilesScenario):
            paths = tuple((case.path.parent / path).resolve() for path in scenario.files)
            key = "files " + " ".join(str(path) for path in paths)
        else:
            paths = ()
            key = scenario.key
        if key in self._failed:
            raise ScenarioError(self._failed[key])
        built = self._built.get(key)
        if built is None:
            try:
                built = self._built[key] = self._build(key, scenario, paths)
            except Exception as exc:  # every case of this scenario fails the same way
                self._failed[key] = (
                    f"scenario {key} could not be built: {type(exc).__name__}: {exc}"
                )
                raise ScenarioError(self._failed[key]) from exc
        return built

    def built(self) -> list[BuiltScenario]:
        return list(self._built.values())

    def close(self) -> None:
        for built in self._built.values():
            built.store.close()

    def _build(
        self, key: str, scenario: SampleScenario | FilesScenario, paths: tuple[Path, ...]
    ) -> BuiltScenario:
        started = time.perf_counter()
        data_dir = self._work_dir / f"scenario-{len(self._built) + 1}"
        settings = self._settings.model_copy(update={"data_dir": data_dir})
        store = PatternStore(pattern_store_path(data_dir))
        problems: list[str] = []
        if isinstance(scenario, SampleScenario):
            faults = scenario.built_faults()
            report = discover_sample(store, scenario.seed, scenario.traces, faults)
            truth = sample_truth(scenario)
        else:
            run = DiscoveryRun(store, normalize, source=files_source(paths))
            for batch in file_batches(paths, problems.append):
                run.accept(batch)
            report = run.finish()
            truth = ScenarioTruth(
                ((span, unlabelled_key(span)) for span in _file_spans(paths)), labelled=False
            )
        classifier = model_classifier(settings, store, model=self._model) if self._model else None
        usage = classify_patterns(store, model=classifier).usage
        try:  # as `spanwise classify` and `spanwise demo` do; chat works without it
            sync_index(settings, store)
        except Exception as exc:
            problems.append(f"retrieval index not built: {type(exc).__name__}: {exc}")
        answerer = answerer_from_settings(settings, model=self._model) if self._model else None
        chat = ChatService(
            store,
            grafana=GrafanaLinks.from_settings(settings),
            answerer=answerer,
            retrieve=retriever(settings, store),
        )
        patterns = live_patterns(store.load(timelines=False))
        classifications = ClassificationStore(store)
        current = classifications.current(patterns)
        verdicts = {
            p.name: current[p.id].classification.verdict.value for p in patterns if p.id in current
        }
        aliases = {alias for names in classifications.all_aliases().values() for alias in names}
        live_names = frozenset(p.name for p in patterns)
        return BuiltScenario(
            key=key,
            store=store,
            chat=chat,
            answerer=answerer,
            truth=truth,
            patterns=patterns,
            known_names=live_names | frozenset(a.lower() for a in aliases),
            live_names=live_names,
            verdicts=verdicts,
            classify_usage=usage,
            spans=report.spans,
            seconds=time.perf_counter() - started,
            problems=problems,
        )


def sample_truth(scenario: SampleScenario) -> ScenarioTruth:
    """The ground truth of a sample scenario: its spans, generated again, with their labels."""
    config = SampleConfig(
        seed=scenario.seed, traces=scenario.traces, faults=scenario.built_faults()
    )
    windows: dict[FaultName, tuple[float, float]] = {}
    for fault in config.faults:
        start_ns, end_ns = fault.window_ns(config.end_time_unix_nano, config.spread_s)
        windows[fault.name] = (start_ns / 1e9, end_ns / 1e9)

    def labelled() -> Iterator[tuple[Span, str]]:
        for trace in generate_traces(config):
            for span in trace.spans:
                yield span, trace.truth[span.span_id]

    return ScenarioTruth(labelled(), fault_windows=windows)


def _file_spans(paths: tuple[Path, ...]) -> Iterator[Span]:
    for batch in file_batches(paths, lambda _problem: None):
        yield from batch
