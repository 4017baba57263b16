"""A verdict set from Slack's buttons, recorded as ``POST /api/patterns/{name}/corrections``
records it: one correction of the pattern's classification, with its author and reason, that
later classifications keep.

``VerdictRefused`` carries what to tell the person when the correction cannot be made: the
pattern is gone, or not classified yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.classify.store import ClassificationStore, CorrectionError
from app.discovery.store import PatternStore
from app.settings import Settings
from app.tenancy import tenant_store_path


class VerdictRefused(Exception):
    """The correction was not made; the message says why, for the person who asked."""


@dataclass(frozen=True)
class RecordedVerdict:
    pattern: str
    """The pattern's current name (the button may carry an old one)."""
    verdict: str
    author: str


def record_verdict(
    settings: Settings, tenant: str, name: str, verdict: str, *, author: str, reason: str
) -> RecordedVerdict:
    store = PatternStore(tenant_store_path(settings, tenant))
    try:
        classifications = ClassificationStore(store)
        patterns = {p.id: p for p in store.load(sketches=False)}
        pattern_id = classifications.resolve(name)
        if pattern_id is None or pattern_id not in patterns:
            raise VerdictRefused(f"No pattern is named `{name}` any more.")
        pattern = patterns[pattern_id]
        while pattern.merged_into is not None:  # merged: the verdict is the merged one's
            pattern = patterns[pattern.merged_into]
        if pattern.id not in classifications.current([pattern]):
            raise VerdictRefused(
                f"`{pattern.name}` is not classified yet: run `spanwise classify` first."
            )
        try:
            correction = classifications.correct(
                pattern, "verdict", verdict, reason=reason, author=author
            )
        except CorrectionError as exc:
            raise VerdictRefused(str(exc)) from exc
    finally:
        store.close()
    return RecordedVerdict(pattern.name, correction.value, correction.author)
