"""Most specific first: what a pattern's matchers leave to its more specific siblings.

Matchers are short (``/orders/[^/?#]+`` for ``/orders/{id}``), so a placeholder's class also
accepts a literal sibling's text: ``/orders/search`` satisfies the matchers of
``/orders/{id}``. Such a span belongs to the sibling, the more specific pattern, and the
general pattern says so with an **exclusion**: the sibling's matchers that are not its own.
A span is a pattern's when it satisfies all its matchers and, for no exclusion, all of that
exclusion's matchers (``SpanPattern.matches``; TraceQL writes an exclusion as
``span.url.full !~ "..."``, ``app.discovery.traceql``).

Siblings are the patterns of one service and span kind. Whether a sibling's spans satisfy a
pattern's matchers is decided from the sibling's sample spans, which are its spans: two
patterns of one template differ only in what their placeholders took. When each accepts
the other's samples, the one whose operation has more literal text is the more specific;
the other gives way. An exclusion that the pattern's own samples would satisfy too is not
made: nothing tells the two apart, and leaving its own spans out would be worse.

An exclusion is only made on fields the pattern's own matchers require. On a field it may
lack, TraceQL cannot say "missing, or other than this": Tempo 2.10 reads ``!=`` and ``!~``
as false on a missing attribute, and ``(span.x = nil || span.x != "v")`` as false too
(checked against a real Tempo). So two shapes of span that only an attribute's absence tells
apart stay a limit of matchers: a span that no family could read, matched by its name alone
(``GET``), and an HTTP client's span of that name; a database span that records its
operation and table beside one of the same statement that does not.

Work stays proportional to what changed: a cheap necessary condition on the operations
(``could_accept``: its literal prefix and suffix) comes before any regex runs,
and each exclusion remembers the sibling it is for (``SpanPattern.excluded_ids``), so that
when patterns fold only the exclusions they made are worked out again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.discovery.operation import Family, Matcher, MatchType
from app.discovery.patterns import SpanPattern
from connectors.spans import Span

Scope = tuple[str, str]
"""(service, span kind)."""
Exclusion = tuple[Matcher, ...]

_PLACEHOLDER = re.compile(r"\{[a-z][a-z0-9_]{0,39}\}")
"""Placeholders in keys: discovery's, an asset collapse, a person's rule (``{tenant}``)."""
_VARYING = re.compile(r"\{[a-z][a-z0-9_]{0,39}\}|\?")
"""What varies in a key: a placeholder, or a statement's literal."""


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
    """Whether its matchers can accept another pattern's spans: it has a placeholder, is a
    database statement (whose literals' class also takes words), or was merged from
    several (an alternation). A literal URL or key matched by a regex (an optional query
    string, a default port) accepts only spans of its own key."""
    if all(m.match_type is MatchType.EXACT for m in pattern.matchers):
        return False
    if pattern.family is Family.DATABASE or _PLACEHOLDER.search(pattern.operation):
        return True
    return any(")|(?:" in m.match_value for m in pattern.matchers)


def specificity(pattern: SpanPattern) -> int:
    """How much of its operation is literal text."""
    return len(_PLACEHOLDER.sub("", pattern.operation))


def could_accept(pattern: SpanPattern, sibling: SpanPattern) -> bool:
    """A cheap necessary condition for the pattern's matchers to accept the sibling's spans.

    Of one family, the two operations agree before what first varies in either (a
    placeholder, a statement's literal) and after what varies last: both keys are written
    from the spans by the same rules, so a span the pattern's regex accepts has the
    pattern's literal text where its key does. Patterns of other families are not told
    apart (see the module)."""
    if pattern.family is sibling.family:
        if any(")|(?:" in m.match_value for m in pattern.matchers):
            return True  # a merge's alternation: no key says what it takes
        mine, theirs = _VARYING.split(pattern.operation), _VARYING.split(sibling.operation)
        # Before what first varies in either, both are literal: one starts the other. The
        # same after what varies last (a long statement is matched by its beginning alone).
        if not (mine[0].startswith(theirs[0]) or theirs[0].startswith(mine[0])):
            return False
        if pattern.family is Family.DATABASE:
            return len(theirs) > 1 or len(mine) > 1 or sibling.operation == pattern.operation
        if len(mine) == 1:
            return sibling.operation == pattern.operation
        return mine[-1].endswith(theirs[-1]) or theirs[-1].endswith(mine[-1])
    return False


def exclusion(pattern: SpanPattern, sibling: SpanPattern) -> Exclusion | None:
    """The sibling's matchers that are not the pattern's, when the sibling is the more
    specific and its spans satisfy the pattern's matchers; None otherwise, or when that
    would leave out the pattern's own spans too (nothing tells the two apart)."""
    if sibling is pattern or not is_general(pattern) or not could_accept(pattern, sibling):
        return None
    return _exclusion(pattern, sibling, is_general(sibling))


def _exclusion(
    pattern: SpanPattern, sibling: SpanPattern, sibling_general: bool
) -> Exclusion | None:
    if not any(accepts(pattern, span) for span in witnesses(sibling)):
        return None
    own = witnesses(pattern)
    if sibling_general and any(accepts(sibling, span) for span in own):
        # each takes the other's spans: the one with more literal text is the more specific
        if (specificity(sibling), -sibling.id) <= (specificity(pattern), -pattern.id):
            return None
    differing = tuple(theirs for theirs in sibling.matchers if theirs not in pattern.matchers)
    if not differing or any(all(m.matches(span) for m in differing) for span in own):
        return None
    required = {(m.field_type, m.field_name) for m in pattern.matchers}
    if any((m.field_type, m.field_name) not in required for m in differing):
        return None  # TraceQL could not say it (see the module)
    return differing


class ExclusionKeeper:
    """Keeps every live pattern's exclusions up to date as patterns come, fold and go.

    ``patterns`` is the clusterer's list (ids are positions). Only general patterns
    (``is_general``) have exclusions. A new pattern is tested against the general patterns
    of its scope (a general one against all of them), a folded one has the exclusions made
    for it and by it worked out again, and ``rescope`` works a whole scope out anew.
    """

    def __init__(self, patterns: list[SpanPattern]) -> None:
        self._patterns = patterns
        self._members: dict[Scope, set[int]] = {}
        self._general: dict[Scope, set[int]] = {}
        self._made: dict[int, dict[int, Exclusion]] = {}
        """Per general pattern: the sibling each exclusion is for, and the exclusion."""
        for pattern in patterns:
            if pattern.merged_into is None:
                self._enter(pattern)
                made = dict(zip(pattern.excluded_ids, pattern.exclusions, strict=False))
                if made:
                    self._made[pattern.id] = made

    def _enter(self, pattern: SpanPattern) -> None:
        scope = scope_of(pattern)
        self._members.setdefault(scope, set()).add(pattern.id)
        if is_general(pattern):
            self._general.setdefault(scope, set()).add(pattern.id)
        else:
            self._general.get(scope, set()).discard(pattern.id)

    def _leave(self, pattern_id: int, scope: Scope) -> None:
        self._members.get(scope, set()).discard(pattern_id)
        self._general.get(scope, set()).discard(pattern_id)
        self._made.pop(pattern_id, None)

    def added(self, new_ids: Iterable[int]) -> set[int]:
        """Take in new patterns (with their first samples); the ids whose exclusions changed."""
        changed: set[int] = set()
        for new_id in sorted(set(new_ids)):
            new = self._patterns[new_id]
            if new.merged_into is None:
                self._enter(new)
                changed |= self._against_scope(new)
        return self._written(changed)

    def folded(self, target: SpanPattern, sources: Iterable[SpanPattern]) -> set[int]:
        """Patterns folded into ``target`` (which may have taken a new operation): the
        exclusions made for the sources go, the target's are worked out again."""
        scope = scope_of(target)
        gone = {source.id for source in sources}
        changed: set[int] = set()
        for source_id in gone:
            self._leave(source_id, scope)
        for general_id in self._general.get(scope, ()):
            made = self._made.get(general_id)
            if made and (gone | {target.id}) & made.keys():
                for sibling_id in gone | {target.id}:
                    made.pop(sibling_id, None)
                changed.add(general_id)
        self._made.pop(target.id, None)
        self._enter(target)
        changed |= self._against_scope(target) | {target.id}
        return self._written(changed)

    def rescope(self, scope: Scope) -> set[int]:
        """Work a scope out anew (after a replay); the ids whose exclusions changed."""
        patterns = self._patterns
        live = {p for p in self._members.get(scope, ()) if patterns[p].merged_into is None}
        live |= {
            p.id
            for p in patterns
            if p.merged_into is None and scope_of(p) == scope and p.id not in live
        }
        self._members[scope] = set()
        self._general[scope] = set()
        for pattern_id in live:
            self._made.pop(pattern_id, None)
            self._enter(patterns[pattern_id])
        changed = set(live)
        for pattern_id in sorted(self._general.get(scope, ())):
            self._against_scope(patterns[pattern_id], one_way=True)
        return self._written(changed)

    def _against_scope(self, pattern: SpanPattern, *, one_way: bool = False) -> set[int]:
        """Test a pattern against its scope, both ways (or only as the general one)."""
        patterns = self._patterns
        scope = scope_of(pattern)
        generals = self._general.get(scope, set())
        changed: set[int] = set()
        if not one_way:
            general = pattern.id in generals
            for other_id in generals:
                if other_id == pattern.id:
                    continue
                other = patterns[other_id]
                if could_accept(other, pattern):
                    if self._record(other, pattern, _exclusion(other, pattern, general)):
                        changed.add(other_id)
        if pattern.id in generals:
            for other_id in self._members.get(scope, ()):
                if other_id == pattern.id:
                    continue
                other = patterns[other_id]
                if could_accept(pattern, other):
                    found = _exclusion(pattern, other, other_id in generals)
                    if self._record(pattern, other, found):
                        changed.add(pattern.id)
        return changed

    def _record(self, pattern: SpanPattern, sibling: SpanPattern, found: Exclusion | None) -> bool:
        made = self._made.setdefault(pattern.id, {})
        if found is None:
            return made.pop(sibling.id, None) is not None
        if made.get(sibling.id) == found:
            return False
        made[sibling.id] = found
        return True

    def _written(self, changed: set[int]) -> set[int]:
        """Write the exclusions of the changed patterns into them; the changed ids."""
        patterns = self._patterns
        for pattern_id in changed:
            made = self._made.get(pattern_id, {})
            ordered = sorted(made.items())
            patterns[pattern_id].exclusions = tuple(excluded for _, excluded in ordered)
            patterns[pattern_id].excluded_ids = tuple(sibling for sibling, _ in ordered)
        return changed
