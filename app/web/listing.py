"""The patterns page's list: filter, sort, group by service, cut into pages.

Pure: it takes the pattern heads and classification gists ``app.web.catalog`` reads, and the
query the page was asked with, and returns what the page shows. Filters mean what they mean
in ``GET /api/patterns``: a text search keeps the patterns whose name, operation and
description hold every word asked (``app.chat.lexical.words``); a search by meaning keeps
the order the pattern index gives, nearest first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from math import ceil
from typing import Any, Literal

from app.chat.lexical import words
from app.discovery.heads import PatternHead
from app.web.catalog import Gist

Sort = Literal["volume", "p99", "errors", "name"]
SORTS: tuple[Sort, ...] = ("volume", "p99", "errors", "name")
UNCLASSIFIED = "unclassified"
PAGE_SIZE = 200
MEANING_RESULTS = 50


@dataclass(frozen=True)
class ListQuery:
    """What the patterns page was asked for; every field is a query parameter."""

    q: str = ""
    semantic: bool = False
    service: str = ""
    kind: str = ""
    category: str = ""
    verdict: str = ""
    """``keep``, ``noise``, ``unclassified`` or empty for all."""
    sort: Sort = "volume"
    grouped: bool = True
    page: int = 1

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string of this query with ``changes``, leaving out defaults."""
        changed = replace(self, **changes)
        default = ListQuery()
        found: dict[str, str] = {}
        for name in ("q", "service", "kind", "category", "verdict", "sort", "page"):
            value = getattr(changed, name)
            if value != getattr(default, name):
                found[name] = str(value)
        if changed.semantic:
            found["semantic"] = "1"
        if not changed.grouped:
            found["group"] = "none"
        return found

    @property
    def filtered(self) -> bool:
        """Whether any filter narrows the list (sorting and grouping do not)."""
        return any((self.q, self.service, self.kind, self.category, self.verdict))

    @property
    def by_meaning(self) -> bool:
        return self.semantic and bool(self.q.strip())


@dataclass(frozen=True)
class Row:
    head: PatternHead
    gist: Gist | None


@dataclass(frozen=True)
class Group:
    """Consecutive rows of one service on the page, with the service's totals."""

    service: str
    rows: list[Row]
    patterns: int
    """Patterns of the service that the filters keep, on every page."""
    spans: int
    continued: bool
    """The group began on an earlier page."""


@dataclass(frozen=True)
class ListView:
    groups: list[Group]
    matched: int
    services: int
    spans: int
    page: int
    pages: int
    total_patterns: int
    """Live patterns before filtering."""
    service_counts: list[tuple[str, int]] = field(default_factory=list)
    """Every service with its live pattern count, for the service filter."""


def list_view(
    heads: Sequence[PatternHead],
    gists: Mapping[int, Gist],
    query: ListQuery,
    meaning_order: Sequence[int] | None = None,
) -> ListView:
    """The page of patterns ``query`` asks for. ``meaning_order`` (pattern ids, nearest
    first) is the pattern index's answer when the query searches by meaning."""
    live = [h for h in heads if h.live]
    service_counts: dict[str, int] = {}
    for head in live:
        service_counts[head.service] = service_counts.get(head.service, 0) + 1
    kept = [h for h in live if _passes(h, gists.get(h.id), query)]
    if query.by_meaning and meaning_order is not None:
        by_id = {h.id: h for h in kept}
        kept = [by_id[i] for i in meaning_order if i in by_id]
    elif query.q.strip():
        asked = words(query.q)
        kept = [h for h in kept if asked <= _words_of(h, gists.get(h.id))]
    grouped = query.grouped and not query.by_meaning
    if not query.by_meaning:
        kept.sort(key=_sort_key(query.sort))
        if grouped:
            kept.sort(key=lambda h: h.service)  # stable: the chosen order within each service
    totals: dict[str, tuple[int, int]] = {}
    for head in kept:
        patterns, spans = totals.get(head.service, (0, 0))
        totals[head.service] = (patterns + 1, spans + head.count)
    pages = max(1, ceil(len(kept) / PAGE_SIZE))
    page = min(max(query.page, 1), pages)
    shown = kept[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    groups: list[Group] = []
    if not grouped:
        if shown:
            groups.append(Group("", [Row(h, gists.get(h.id)) for h in shown], 0, 0, False))
    else:
        previous = kept[(page - 1) * PAGE_SIZE - 1].service if page > 1 else None
        for head in shown:
            row = Row(head, gists.get(head.id))
            if groups and groups[-1].service == head.service:
                groups[-1].rows.append(row)
                continue
            patterns, spans = totals[head.service]
            groups.append(Group(head.service, [row], patterns, spans, head.service == previous))
    return ListView(
        groups=groups,
        matched=len(kept),
        services=len(totals),
        spans=sum(h.count for h in kept),
        page=page,
        pages=pages,
        total_patterns=len(live),
        service_counts=sorted(service_counts.items()),
    )


def _passes(head: PatternHead, gist: Gist | None, query: ListQuery) -> bool:
    if query.service and head.service != query.service:
        return False
    if query.kind and head.span_kind != query.kind:
        return False
    if query.category and (gist is None or gist.category.value != query.category):
        return False
    if query.verdict == UNCLASSIFIED:
        return gist is None
    return not query.verdict or (gist is not None and gist.verdict.value == query.verdict)


def _words_of(head: PatternHead, gist: Gist | None) -> frozenset[str]:
    return words(f"{head.name} {head.operation} " + (gist.description if gist else ""))


def _sort_key(sort: Sort) -> Callable[[PatternHead], tuple[float | str, ...]]:
    if sort == "p99":
        return lambda h: (-h.p99_ms, h.name)
    if sort == "errors":
        return lambda h: (-h.error_rate, -h.error_count, h.name)
    if sort == "name":
        return lambda h: (h.name,)
    return lambda h: (-h.count, h.name)
