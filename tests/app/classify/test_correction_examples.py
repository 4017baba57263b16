"""A person's correction changes what later prompts for similar patterns contain."""

from __future__ import annotations

from pathlib import Path

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from app.classify.examples import CorrectionExamples
from app.classify.model import ModelClassifier
from app.classify.run import classify_patterns
from app.classify.store import ClassificationStore
from app.discovery.patterns import SpanPattern
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore


def discovered(tmp_path: Path) -> PatternStore:
    store = PatternStore(tmp_path / "patterns.sqlite")
    discover_sample(store, 4, 300)
    return store


def by_operation(patterns: list[SpanPattern], service: str, operation: str) -> SpanPattern:
    return next(p for p in patterns if p.service == service and p.operation == operation)


def prompt_for(store: PatternStore, pattern: SpanPattern) -> str:
    patterns = store.load()
    classifier = ModelClassifier(
        FakeListChatModel(responses=["{}"]),
        model="test",
        examples=CorrectionExamples(ClassificationStore(store), patterns),
    )
    system, _user, _refs = classifier.render([pattern], {p.id: p for p in patterns})
    return system


def test_a_correction_on_one_probe_reaches_the_prompt_for_a_similar_one(tmp_path: Path) -> None:
    store = discovered(tmp_path)
    classify_patterns(store)  # offline: every pattern classified
    patterns = store.load()
    liveness = by_operation(patterns, "payment", "GET /actuator/health/liveness")
    readiness = by_operation(patterns, "payment", "GET /actuator/health/readiness")
    unrelated = by_operation(patterns, "payment", "POST /v1/payments")

    before = prompt_for(store, readiness)
    assert "People corrected similar patterns" not in before

    store_view = ClassificationStore(store)
    store_view.correct(
        liveness, "description", "Kubelet liveness probe of payment.", reason="ours", author="ana"
    )
    store_view.correct(liveness, "verdict", "noise", reason="probes are noise here", author="ana")

    after = prompt_for(store, readiness)
    assert "People corrected similar patterns" in after
    assert "GET /actuator/health/liveness" in after
    assert '"verdict": "noise"' in after and "probes are noise here" in after
    assert "Kubelet liveness probe of payment." in after
    assert "People corrected similar patterns" not in prompt_for(store, unrelated)

    # corrections survive a restart and keep shaping prompts
    reopened = PatternStore(tmp_path / "patterns.sqlite")
    assert prompt_for(reopened, readiness) == after
