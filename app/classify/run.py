"""One classification run: every live pattern gets a name, description, category and verdict.

Patterns whose fingerprint was answered before, for the same prompt version and model, take
the cached answer; the rest go to the model in batches, or, with no model configured, to the
offline classifier. What a person corrected stays as they set it (``ClassificationStore``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from app.classify.names import unique_names
from app.classify.offline import classify_all_offline
from app.classify.store import ClassificationStore, Usage, fingerprint
from app.classify.verdict import Classification, Source
from app.discovery.patterns import SpanPattern
from app.discovery.store import PatternStore

OFFLINE_MODEL = "offline"
OFFLINE_VERSION = "rules"
FALLBACK_VERSION = "fallback"
"""The prompt version recorded for a pattern the model failed on, classified offline."""

Progress = Callable[[int, int], None]
"""``(patterns done, patterns in all)``."""


class PatternModel(Protocol):
    """What ``classify_patterns`` needs of a model classifier (``app.classify.model``)."""

    @property
    def model(self) -> str: ...

    @property
    def prompt_version(self) -> str: ...

    def classify(
        self,
        patterns: list[SpanPattern],
        graph: Mapping[int, SpanPattern],
        usage: Usage,
        on_progress: Progress | None = None,
    ) -> dict[int, dict[str, str]]:
        """Validated answers by pattern id; a pattern it failed on is left out."""
        ...


@dataclass
class ClassifyReport:
    usage: Usage
    classified: int = 0
    changed: list[str] = field(default_factory=list)
    """Names of the patterns whose classification is new or different."""
    offline: bool = True


def live_patterns(patterns: list[SpanPattern]) -> list[SpanPattern]:
    return [p for p in patterns if p.merged_into is None and p.stats.count > 0]


def classify_patterns(
    store: PatternStore,
    *,
    model: PatternModel | None = None,
    on_progress: Progress | None = None,
) -> ClassifyReport:
    classifications = ClassificationStore(store)
    every = store.load(timelines=False)  # classifying reads no trend
    graph = {p.id: p for p in every}
    patterns = live_patterns(every)
    model_name = model.model if model else OFFLINE_MODEL
    version = model.prompt_version if model else OFFLINE_VERSION
    usage = Usage(model=model_name, prompt_version=version, patterns=len(patterns))
    current = classifications.current(every)

    answers: dict[int, dict[str, str]] = {}
    asked: list[SpanPattern] = []
    if model is not None:
        for pattern in patterns:
            cached = classifications.cached(fingerprint(pattern), version, model_name)
            if cached is not None:
                answers[pattern.id] = cached
                usage.cached += 1
            else:
                asked.append(pattern)
        if asked:
            answers.update(model.classify(asked, graph, usage, on_progress))
        usage.fallbacks = sum(1 for p in asked if p.id not in answers)

    offline = classify_all_offline(patterns)
    kept_names = {p.id: p.name for p in every if p.id in current or p.merged_into is not None}
    live_ids = {p.id for p in patterns}
    asked_ids = {p.id for p in asked}
    kept_names |= {p.id: p.name for p in every if p.id not in live_ids}
    taken = _aliases_as_assigned(classifications, every)
    proposed: dict[int, list[str]] = {}
    results: dict[int, Classification] = {}
    for pattern in patterns:
        answer = answers.get(pattern.id)
        if answer is not None:
            proposed[pattern.id] = [answer["name"], offline[pattern.id].name]
        else:
            proposed[pattern.id] = [offline[pattern.id].name]
    names = unique_names(proposed, graph, {**kept_names, **taken})
    fingerprints: dict[int, tuple[str, str, str]] = {}
    new_answers: dict[tuple[str, str, str], dict[str, str]] = {}
    for pattern in patterns:
        answer = answers.get(pattern.id)
        if answer is not None:
            base = Classification.model_validate({**answer, "source": Source.MODEL})
            key = (fingerprint(pattern), version, model_name)
            if pattern.id in asked_ids:
                new_answers[key] = answer
        elif pattern.id in asked_ids:  # the model failed on it: offline, marked, asked again
            base = offline[pattern.id]
            key = (fingerprint(pattern), FALLBACK_VERSION, model_name)
        else:
            base = offline[pattern.id]
            key = (fingerprint(pattern), OFFLINE_VERSION, OFFLINE_MODEL)
        fingerprints[pattern.id] = key
        results[pattern.id] = base.model_copy(update={"name": names[pattern.id]})
    if on_progress is not None:
        on_progress(len(patterns), len(patterns))
    changed = classifications.save_run(
        results, graph, answers=fingerprints, new_answers=new_answers, usage=usage
    )
    return ClassifyReport(
        usage=usage,
        classified=len(results),
        changed=[graph[i].name for i in changed],
        offline=model is None,
    )


def _aliases_as_assigned(
    classifications: ClassificationStore, patterns: list[SpanPattern]
) -> dict[int, str]:
    """Old names stay reserved for the patterns they resolve to: negative ids hold them."""
    reserved: dict[int, str] = {}
    old_names = classifications.all_aliases()
    for pattern in patterns:
        for index, alias in enumerate(old_names.get(pattern.id, ())):
            reserved[-(pattern.id * 1000 + index + 1)] = alias
    return reserved
