"""Most specific first: what a pattern's matchers leave to its more specific siblings.

Matchers are short (``/orders/[^/?#]+`` for ``/orders/{id}``), so a placeholder's class also
accepts a literal sibling's text: ``/orders/search`` satisfies the matchers of
``/orders/{id}``. Such a span belongs to the sibling, the more specific pattern, and the
general pattern says so with an **exclusion**: the sibling's matchers where they differ from
its own. A span is a pattern's when it satisfies all its matchers and, for no exclusion, all
of that exclusion's matchers (``SpanPattern.matches``; TraceQL writes an exclusion as
``span.url.path !~ "..."``, ``app.discovery.traceql``).

Siblings are the patterns of one service and span kind that read the same fields. Whether a
sibling's spans satisfy a pattern's matchers is decided from the sibling's sample spans,
which are its spans: two patterns of one template differ only in what their placeholders
took. When each accepts the other's samples, the one whose operation has more literal text
is the more specific; the other gives way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from app.discovery.operation import Matcher, MatchType
from app.discovery.patterns import SpanPattern
from connectors.spans import Span

Scope = tuple[str, str, tuple[str, ...]]
"""(service, span kind, the fields its matchers read)."""

_PLACEHOLDER = re.compile(r"\{[a-z][a-z0-9_]{0,39}\}")


def scope_of(pattern: SpanPattern) -> Scope:
    return (pattern.service, pattern.span_kind, tuple(m.field_name for m in pattern.matchers))


def witnesses(pattern: SpanPattern) -> list[Span]:
    """Spans of the pattern to test other patterns' matchers on: its samples."""
    stats = pattern.stats
    return [*stats.typical, *stats.errors, *stats.slowest_spans()]


def accepts(pattern: SpanPattern, span: Span) -> bool:
    """Whether the span satisfies the pattern's matchers, exclusions aside."""
    return all(m.matches(span) for m in pattern.matchers)


def is_general(pattern: SpanPattern) -> bool:
    """Whether its matchers can accept what another pattern's accept: not all exact."""
    return any(m.match_type is not MatchType.EXACT for m in pattern.matchers)


def specificity(pattern: SpanPattern) -> int:
    """How much of its operation is literal text."""
    return len(_PLACEHOLDER.sub("", pattern.operation))


def exclusion(pattern: SpanPattern, sibling: SpanPattern) -> tuple[Matcher, ...] | None:
    """The sibling's matchers that differ from the pattern's, when the sibling is the more
    specific and its spans satisfy the pattern's matchers; None otherwise (or when no
    matcher differs, so that nothing could tell the two apart)."""
    if sibling is pattern or not is_general(pattern):
        return None
    if not any(accepts(pattern, span) for span in witnesses(sibling)):
        return None
    if is_general(sibling) and any(accepts(sibling, span) for span in witnesses(pattern)):
        # each takes the other's spans: the one with more literal text is the more specific
        if (specificity(sibling), -sibling.id) <= (specificity(pattern), -pattern.id):
            return None
    differing = tuple(
        theirs for mine, theirs in zip(pattern.matchers, sibling.matchers, strict=True)
        if mine != theirs
    )
    return differing or None


class ExclusionKeeper:
    """Keeps every live pattern's exclusions up to date as patterns come and go.

    ``patterns`` is the clusterer's list (ids are positions). Work is done per scope and
    only where something changed: a new pattern is tested against its siblings, and a
    scope whose patterns were folded together is worked out again.
    """

    def __init__(self, patterns: list[SpanPattern]) -> None:
        self._patterns = patterns
        self._scopes: dict[Scope, list[int]] = {}
        for pattern in patterns:
            if pattern.merged_into is None:
                self._scopes.setdefault(scope_of(pattern), []).append(pattern.id)

    def added(self, new_ids: Iterable[int]) -> set[int]:
        """Take in new patterns (with their first samples); the ids whose exclusions changed."""
        changed: set[int] = set()
        patterns = self._patterns
        for new_id in new_ids:
            new = patterns[new_id]
            if new.merged_into is not None:
                continue
            siblings = self._scopes.setdefault(scope_of(new), [])
            for other_id in siblings:
                other = patterns[other_id]
                if other.merged_into is not None:
                    continue
                if _add(other, exclusion(other, new)):
                    changed.add(other_id)
                if _add(new, exclusion(new, other)):
                    changed.add(new_id)
            siblings.append(new_id)
        return changed

    def rescope(self, scope: Scope) -> set[int]:
        """Work a scope out again (patterns in it were folded or re-keyed); changed ids."""
        patterns = self._patterns
        live = [
            pid
            for pid in dict.fromkeys(self._scopes.get(scope, []))
            if patterns[pid].merged_into is None and scope_of(patterns[pid]) == scope
        ]
        self._scopes[scope] = live
        changed = set()
        siblings = [patterns[pid] for pid in live]
        for pattern in siblings:
            found = exclusions_of(pattern, siblings)
            if found != pattern.exclusions:
                pattern.exclusions = found
                changed.add(pattern.id)
        return changed

    def moved(self, pattern: SpanPattern, old_scope: Scope) -> None:
        """A pattern whose matchers changed: it belongs to its new scope."""
        if old_scope in self._scopes and pattern.id in self._scopes[old_scope]:
            self._scopes[old_scope].remove(pattern.id)
        self._scopes.setdefault(scope_of(pattern), []).append(pattern.id)


def _add(pattern: SpanPattern, excluded: tuple[Matcher, ...] | None) -> bool:
    if excluded is None or excluded in pattern.exclusions:
        return False
    pattern.exclusions = (*pattern.exclusions, excluded)
    return True


def exclusions_of(
    pattern: SpanPattern, siblings: Sequence[SpanPattern]
) -> tuple[tuple[Matcher, ...], ...]:
    """The exclusions a pattern gets among ``siblings``."""
    found: list[tuple[Matcher, ...]] = []
    for sibling in siblings:
        excluded = exclusion(pattern, sibling)
        if excluded is not None and excluded not in found:
            found.append(excluded)
    return tuple(found)
