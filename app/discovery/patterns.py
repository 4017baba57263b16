"""A span pattern: the spans of one service and kind that share a normalized operation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from app.discovery.operation import Family, Matcher
from app.discovery.stats import PatternStats
from connectors.spans import Span

PatternKey = tuple[str, str, str, tuple[str, ...]]
"""(service, span kind, operation key, the field names its matchers read).

The field names are part of the key so that every span of a pattern satisfies its matchers
even where one service sends both legacy (``http.method``) and current
(``http.request.method``) attribute names for the same operation.
"""


@dataclass
class SpanPattern:
    id: int
    service: str
    span_kind: str
    family: Family
    operation: str
    matchers: tuple[Matcher, ...]
    """What every span of the pattern satisfies (``app.discovery.operation``)."""
    hints: dict[str, str]
    name: str
    """A provisional name from the operation until the classifier gives a better one."""
    stats: PatternStats = field(default_factory=PatternStats)
    parents: Counter[int] = field(default_factory=Counter)
    """Patterns whose spans are parents of this one's (or its producers, through links)."""
    children: Counter[int] = field(default_factory=Counter)
    merged_into: int | None = None
    """Set when a person merged this pattern into another: its name then resolves there."""
    exclusions: tuple[tuple[Matcher, ...], ...] = ()
    """More specific siblings' matchers: a span that satisfies all of one of them belongs to
    that sibling, not to this pattern (``app.discovery.exclusions``)."""
    excluded_ids: tuple[int, ...] = ()
    """The sibling each exclusion is for, in the same order."""

    def matches(self, span: Span) -> bool:
        """Whether the span is this pattern's by its matchers, most specific first."""
        if not all(m.matches(span) for m in self.matchers):
            return False
        return not any(all(m.matches(span) for m in excluded) for excluded in self.exclusions)

    def retire(self, *, into: int | None) -> None:
        """Empty the pattern: merged into ``into``, or split, its spans now go elsewhere."""
        self.stats = PatternStats()
        self.parents.clear()
        self.children.clear()
        self.merged_into = into
        self.exclusions = ()
        self.excluded_ids = ()

    @property
    def key(self) -> PatternKey:
        return (
            self.service,
            self.span_kind,
            self.operation,
            tuple(m.field_name for m in self.matchers),
        )
