"""The classification store's own rules: limits, names that stay, old names kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.classify.run import classify_patterns, live_patterns
from app.classify.store import ClassificationStore, CorrectionError
from app.classify.verdict import MAX_TEXT_LENGTH
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore


@pytest.fixture
def store(tmp_path: Path) -> PatternStore:
    store = PatternStore(tmp_path / "patterns.sqlite")
    discover_sample(store, 8, 120)
    classify_patterns(store)
    return store


def test_text_longer_than_a_classification_allows_is_refused(store: PatternStore) -> None:
    pattern = live_patterns(store.load())[0]
    view = ClassificationStore(store)
    with pytest.raises(CorrectionError, match=f"at most {MAX_TEXT_LENGTH} characters"):
        view.correct(pattern, "description", "x" * 401, reason="", author="ana")
    with pytest.raises(CorrectionError, match="at most"):
        view.correct(pattern, "verdict", "noise", reason="y" * 401, author="ana")
    assert view.corrections() == []


def test_names_stay_across_runs_and_an_old_name_stays_its_patterns(store: PatternStore) -> None:
    first, second = live_patterns(store.load())[:2]
    view = ClassificationStore(store)
    old = first.name
    view.correct(first, "name", "my_renamed_pattern", reason="team name", author="ana")
    classify_patterns(store)
    names = {p.id: p.name for p in store.load()}
    assert names[first.id] == "my_renamed_pattern" and names[second.id] == second.name
    assert view.resolve(old) == first.id
    with pytest.raises(CorrectionError, match="an old name of another pattern"):
        view.correct(second, "name", old, reason="", author="bo")


def test_a_verdict_a_person_set_carries_their_reason_through_reclassification(
    store: PatternStore,
) -> None:
    pattern = live_patterns(store.load())[0]
    view = ClassificationStore(store)
    view.correct(pattern, "verdict", "keep", reason="we alert on it", author="ana")
    classify_patterns(store)  # a later classification keeps both
    stored = view.current([pattern])[pattern.id]
    assert stored.classification.verdict.value == "keep"
    assert stored.classification.reasoning == "we alert on it"
    assert {"verdict", "reasoning"} <= stored.person_fields
