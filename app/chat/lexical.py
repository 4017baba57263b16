"""Patterns a question names without an @mention: by the services and words it uses.

"why is checkout slow?" names a service; "what does the stripe charge call do?" names words
of an operation. Patterns are scored by the question's words found in their service, name,
operation and description; a named service narrows the choice to its patterns, where the
ones that serve requests come first. Meaning-based retrieval (``retrieval/``) can add to this.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from app.discovery.patterns import SpanPattern

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by did do does for from has have how i in is it its me my of on or "
    "our so that the their them then there this to was we what when where which who why will "
    "with you your any all show tell slow fast error errors rate why".split()
)
_ENTRY_KINDS = ("server", "consumer")


@lru_cache(maxsize=65_536)
def words(text: str) -> frozenset[str]:
    """The words of a text that can name something; cached, as pattern texts repeat."""
    return frozenset(
        word for word in _WORD.findall(text.lower()) if word not in _STOP and len(word) > 1
    )


def find_by_words(
    question: str,
    patterns: Sequence[SpanPattern],
    descriptions: Mapping[int, str],
    limit: int = 3,
) -> list[SpanPattern]:
    asked = words(question)
    if not asked:
        return []
    services = {p.service for p in patterns if p.service.lower() in asked}
    candidates = [p for p in patterns if not services or p.service in services]
    scored = []
    for pattern in candidates:
        text = " ".join((pattern.name, pattern.operation, descriptions.get(pattern.id, "")))
        overlap = len(asked & words(text))
        entry = pattern.span_kind in _ENTRY_KINDS
        if overlap == 0 and not (services and entry):
            continue
        score = overlap + (1.0 if entry else 0.0) + math.log10(pattern.stats.count + 1) / 10
        scored.append((score, pattern.id, pattern))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [pattern for _, _, pattern in scored[:limit]]
