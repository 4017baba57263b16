"""People's corrections as examples in later classification prompts.

This is how a correction improves future classifications: when a batch is classified, the
corrections made to the patterns most like its patterns go into the prompt, so a model that
was told "health checks of this kind are noise" or "we call this payment_gateway" applies it
to the next such pattern. Likeness is the overlap of the words of service, span kind and
operation (Jaccard), which needs no model and no network.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from app.classify.card_operation import compact_operation
from app.classify.store import ClassificationStore
from app.discovery.operation import Family
from app.discovery.patterns import SpanPattern

EXAMPLES = 3
MIN_LIKENESS = 0.25
_WORD = re.compile(r"[a-z0-9]+")


def words_of(pattern: SpanPattern) -> frozenset[str]:
    text = f"{pattern.service} {pattern.span_kind} {pattern.operation}".lower()
    return frozenset(word for word in _WORD.findall(text) if word not in ("id", "email", "date"))


def likeness(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class CorrectionExamples:
    """``examples(batch)``: the corrections most like a batch's patterns, for its prompt."""

    def __init__(self, store: ClassificationStore, patterns: Sequence[SpanPattern]) -> None:
        by_id = {p.id: p for p in patterns}
        corrected: dict[int, dict[str, str]] = {}
        reasons: dict[int, str] = {}
        for correction in store.corrections():
            if correction.pattern_id in by_id:
                corrected.setdefault(correction.pattern_id, {})[correction.field] = correction.value
                if correction.reason:
                    reasons[correction.pattern_id] = correction.reason
        self._corrected = [
            (by_id[pattern_id], words_of(by_id[pattern_id]), fields, reasons.get(pattern_id, ""))
            for pattern_id, fields in corrected.items()
        ]

    def __call__(self, batch: Sequence[SpanPattern]) -> list[dict[str, Any]]:
        if not self._corrected:
            return []
        batch_ids = {p.id for p in batch}
        batch_words = [words_of(p) for p in batch]
        scored = []
        for pattern, words, fields, reason in self._corrected:
            if pattern.id in batch_ids:
                continue
            best = max(likeness(words, other) for other in batch_words)
            if best >= MIN_LIKENESS:
                scored.append((best, pattern, fields, reason))
        scored.sort(key=lambda item: (-item[0], item[1].id))
        return [
            {
                "service": pattern.service,
                "span_kind": pattern.span_kind,
                "operation": compact_operation(
                    pattern.operation, statement=pattern.family is Family.DATABASE
                ),
                "corrected": {**fields, **({"reason": reason} if reason else {})},
            }
            for _, pattern, fields, reason in scored[:EXAMPLES]
        ]
