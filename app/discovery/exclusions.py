"""Most specific first: what a pattern's matchers leave to its more specific siblings.

Matchers are short (``/orders/[^/?#]+`` for ``/orders/{id}``), so a placeholder's class also
accepts a literal sibling's text: ``/orders/search`` satisfies the matchers of
``/orders/{id}``. Such a span belongs to the sibling, the more specific pattern, and the
general pattern says so with an **exclusion**: the sibling's matchers where they differ from
its own. A span is a pattern's when it satisfies all its matchers and, for no exclusion, all
of that exclusion's matchers (``SpanPattern.matches``; TraceQL writes an exclusion as
``span.url.path !~ "..."``, ``app.discovery.traceql``).

Siblings are the patterns of one service and span kind. Whether a sibling's spans satisfy a
pattern's matchers is decided from the sibling's sample spans, which are its spans: two
patterns of one template differ only in what their placeholders took. When each accepts
the other's samples, the one whose operation has more literal text is the more specific;
the other gives way. A sibling may read other fields: a span named ``GET`` that no family
could read is matched by its name alone, which an HTTP client's spans of that name share,
and the name's pattern leaves them to it (an exclusion of all the HTTP pattern's matchers).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.discovery.operation import Family, Matcher, MatchType
from app.discovery.patterns import SpanPattern
from connectors.spans import Span

Scope = tuple[str, str]
"""(service, span kind)."""

_PLACEHOLDER = re.compile(r"\{[a-z][a-z0-9_]{0,39}\}")
"""Placeholders in keys: discovery's, an asset collapse, a person's rule (``{tenant}``)."""


def scope_of(pattern: SpanPattern) -> Scope:
    return (pattern.service, pattern.span_kind)


def witnesses(pattern: SpanPattern) -> list[Span]:
    """Spans of the pattern to test other patterns' matchers on: its samples."""
    stats = pattern.stats
    return [*stats.typical, *stats.errors, *stats.slowest_spans()]


def accepts(pattern: SpanPattern, span: Span) -> bool:
    """Whether the span satisfies the pattern's matchers, exclusions aside."""
    return all(m.matches(span) for m in pattern.matchers)


def is_general(pattern: SpanPattern) -> bool:
    """Whether its matchers can accept another pattern's spans: it is read from a span's
    name, has a placeholder, is a database statement (whose literals' class also takes
    words), or was merged from several (an alternation). A literal URL or key matched by a
    regex (an optional query string, a default port) accepts only spans of its own key."""
    if pattern.family is Family.GENERIC:
        return True  # a name: other families' spans have names too
    if all(m.match_type is MatchType.EXACT for m in pattern.matchers):
        return False
    if pattern.family is Family.DATABASE or _PLACEHOLDER.search(pattern.operation):
        return True
    return any(")|(?:" in m.match_value for m in pattern.matchers)


def specificity(pattern: SpanPattern) -> int:
    """How much of its operation is literal text."""
    return len(_PLACEHOLDER.sub("", pattern.operation))


def exclusion(pattern: SpanPattern, sibling: SpanPattern) -> tuple[Matcher, ...] | None:
    """The sibling's matchers that differ from the pattern's, when the sibling is the more
    specific and its spans satisfy the pattern's matchers; None otherwise (or when no
    matcher differs, so that nothing could tell the two apart)."""
    if sibling is pattern or not is_general(pattern):
        return None
    return _exclusion(pattern, sibling, is_general(sibling))


def _exclusion(
    pattern: SpanPattern, sibling: SpanPattern, sibling_general: bool
) -> tuple[Matcher, ...] | None:
    """``exclusion`` of a general pattern, whether the sibling is general being known."""
    if not any(accepts(pattern, span) for span in witnesses(sibling)):
        return None
    if sibling_general and any(accepts(sibling, span) for span in witnesses(pattern)):
        # each takes the other's spans: the one with more literal text is the more specific
        if (specificity(sibling), -sibling.id) <= (specificity(pattern), -pattern.id):
            return None
    differing = tuple(theirs for theirs in sibling.matchers if theirs not in pattern.matchers)
    return differing or None


class ExclusionKeeper:
    """Keeps every live pattern's exclusions up to date as patterns come and go.

    ``patterns`` is the clusterer's list (ids are positions). Work is done per scope and
    only where something changed: a new pattern is tested against the general patterns of
    its scope (a general one against all of them), and a scope whose patterns were folded
    together is worked out again. Only general patterns (``is_general``) have exclusions.
    """

    def __init__(self, patterns: list[SpanPattern]) -> None:
        self._patterns = patterns
        self._scopes: dict[Scope, list[int]] = {}
        self._general: dict[Scope, list[int]] = {}
        for pattern in patterns:
            if pattern.merged_into is None:
                self._enter(pattern)

    def _enter(self, pattern: SpanPattern) -> None:
        scope = scope_of(pattern)
        self._scopes.setdefault(scope, []).append(pattern.id)
        if is_general(pattern):
            self._general.setdefault(scope, []).append(pattern.id)

    def added(self, new_ids: Iterable[int]) -> set[int]:
        """Take in new patterns (with their first samples); the ids whose exclusions changed."""
        changed: set[int] = set()
        patterns = self._patterns
        for new_id in new_ids:
            new = patterns[new_id]
            if new.merged_into is not None:
                continue
            scope = scope_of(new)
            general = is_general(new)
            for other_id in self._general.get(scope, ()):
                other = patterns[other_id]
                if other.merged_into is None and _add(other, _exclusion(other, new, general)):
                    changed.add(other_id)
            if general:
                generals = set(self._general.get(scope, ()))
                for other_id in self._scopes.get(scope, ()):
                    other = patterns[other_id]
                    if other.merged_into is not None:
                        continue
                    if _add(new, _exclusion(new, other, other_id in generals)):
                        changed.add(new_id)
            self._enter(new)
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
        generals = {pid for pid in live if is_general(patterns[pid])}
        self._general[scope] = [pid for pid in live if pid in generals]
        changed = set()
        for pid in live:
            pattern = patterns[pid]
            found: list[tuple[Matcher, ...]] = []
            if pid in generals:
                for other_id in live:
                    if other_id == pid:
                        continue
                    excluded = _exclusion(pattern, patterns[other_id], other_id in generals)
                    if excluded is not None and excluded not in found:
                        found.append(excluded)
            if tuple(found) != pattern.exclusions:
                pattern.exclusions = tuple(found)
                changed.add(pid)
        return changed


def _add(pattern: SpanPattern, excluded: tuple[Matcher, ...] | None) -> bool:
    if excluded is None or excluded in pattern.exclusions:
        return False
    pattern.exclusions = (*pattern.exclusions, excluded)
    return True

