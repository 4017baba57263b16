"""Variables learned from the spans: positions whose values vary become placeholders.

Shape rules (``app.discovery.normalize.ids``) see an id in ``4821`` or ``ch_3PqL9x``, not in
``c_gtmcbtxbxu``, ``blue-mountain-coffee`` or ``alice``. Those become patterns of their own,
one per value, until the evidence says that their position is a variable: then the patterns
that differ only there fold into one (``/carts/{cart_id}/items``), their statistics merged
exactly (``app.discovery.overrides.merge_into``) and their names kept as aliases, and a
**learned variable** rewrites every later key of that template before it is looked up.

A **group** is the patterns of one service, span kind and matcher fields whose keys are
equal but for one position (``app.discovery.normalize.positions``), or for two positions of
one part (two path segments: ``/repos/{owner}/{repo}/pulls``, where neither position alone
ever varies under a fixed other). Each position of a group is judged on the values it holds
there, counted in spans (the patterns' own counts: memory is the patterns'):

- ``MIN_SPANS`` spans in the group at least: enough to tell frequent values from rare ones.
- A value with ``FREQUENT_SHARE`` of the group's spans, and ``FREQUENT_FACTOR`` times the
  spans of the median literal value, is a **frequent** value: a literal sibling such as
  ``/orders/search`` beside the order ids; it stays a pattern of its own, and the variable's
  matchers leave it out (most specific first, ``app.discovery.exclusions``).
- The other literal values are **rare**. The position is a variable when there are
  ``MIN_RARE`` rare values of which ``SINGLETON_SHARE`` or more were seen once (ids keep
  coming; five locales or a dozen templates soon stop being new); when a shape rule already
  put a placeholder there and ``MIN_RARE_BESIDE_PLACEHOLDER`` rare values were mostly seen
  once (the ids the shape rule missed); or, whatever their counts, when there are
  ``MAX_LITERALS`` rare values.

A group of two positions makes variables only when both positions are. Once learned, a
variable stays: a position that looks stable in a later batch does not undo it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import msgspec

from app.discovery.normalize.ids import is_placeholder
from app.discovery.normalize.positions import KEY, PATH, Positions, positions_of
from app.discovery.operation import Operation
from app.discovery.overrides import operation_of
from app.discovery.patterns import SpanPattern

MIN_SPANS = 64
"""Spans a group needs before it is judged: at 5% a frequent value has some 3 of them."""
FREQUENT_SHARE = 0.05
"""A value with this share of its group's spans is a literal sibling, not an id..."""
FREQUENT_FACTOR = 5
"""... if it also has this many times the spans of the median literal value: a value seen
four times beside ids seen once each may be an id that was lucky."""
MIN_RARE = 8
"""Rare values needed: fewer could be a handful of stable values (versions, locales)."""
MIN_RARE_BESIDE_PLACEHOLDER = 3
"""Rare values needed where a shape rule already found ids at the position."""
SINGLETON_SHARE = 0.5
"""Of the rare values, the share seen only once: ids keep coming, literals repeat."""
MAX_LITERALS = 64
"""Rare values that make a variable whatever their counts."""
MAX_PAIRED_POSITIONS = 8
"""Parts with more positions than this are not searched for pairs (their pairs would be
many, and such long paths or names seldom hold two unknown ids)."""

Scope = tuple[str, str, tuple[str, ...]]
"""(service, span kind, the fields its matchers read)."""


class LearnedVariable(msgspec.Struct, frozen=True):
    """Positions of one template that hold variables, and the values kept literal there."""

    service: str
    span_kind: str
    fields: tuple[str, ...]
    pieces: tuple[str, ...]
    """The template's key in pieces (``Positions.pieces``), a placeholder at each variable."""
    positions: tuple[int, ...]
    """Which positions (indexes of ``Positions.values``) hold a variable."""
    literals: tuple[tuple[str, ...], ...]
    """For each of them, the frequent values that stay patterns of their own."""

    @property
    def template(self) -> str:
        """The key with the placeholders: ``POST cart /carts/{cart_id}/items``."""
        return "".join(self.pieces)

    def describe(self) -> str:
        kept = sorted({value for values in self.literals for value in values})
        keeping = f" (keeping {', '.join(kept)})" if kept else ""
        return f"{self.service} {self.span_kind} `{self.template}`{keeping}"

    def rewrite(self, positions: Positions) -> Operation | None:
        """The operation with this variable's placeholders in place; None when it is not of
        this template, or already has them."""
        pieces = positions.pieces
        mine = self.pieces
        if len(pieces) != len(mine) or positions.operation.matcher_fields != self.fields:
            return None
        holes = {2 * position + 1 for position in self.positions}
        for index, piece in enumerate(pieces):
            if index not in holes and piece != mine[index]:
                return None
        values: dict[int, str] = {}
        for position, kept in zip(self.positions, self.literals, strict=True):
            at = 2 * position + 1
            if pieces[at] != mine[at] and pieces[at] not in kept:
                values[position] = mine[at]
        return positions.with_values(values) if values else None


@dataclass(frozen=True)
class Group:
    """Patterns whose keys are equal but at ``positions``."""

    scope: Scope
    pieces: tuple[str | None, ...]
    """The key's pieces, None at the positions that vary."""
    positions: tuple[int, ...]
    kinds: tuple[str, ...]


def groups_of(scope: Scope, positions: Positions) -> list[tuple[Group, tuple[str, ...]]]:
    """The groups a pattern's key is in, each with its values at the group's positions."""
    pieces = positions.pieces
    kinds = positions.kinds
    chosen: list[tuple[int, ...]] = [(position,) for position in range(len(kinds))]
    for kind in dict.fromkeys(kinds):
        of_kind = [position for position, k in enumerate(kinds) if k == kind]
        if len(of_kind) <= MAX_PAIRED_POSITIONS:
            chosen.extend(combinations(of_kind, 2))
    found = []
    for group_positions in chosen:
        holes = {2 * position + 1 for position in group_positions}
        group = Group(
            scope,
            tuple(None if index in holes else piece for index, piece in enumerate(pieces)),
            group_positions,
            tuple(kinds[position] for position in group_positions),
        )
        found.append((group, tuple(pieces[2 * p + 1] for p in group_positions)))
    return found


def decide(counts: Mapping[str, int]) -> tuple[str, ...] | None:
    """Whether a position's values (value -> spans) make it a variable: the values to keep
    literal if so, else None (see the module for the rules)."""
    total = sum(counts.values())
    if total < MIN_SPANS:
        return None
    literal = sorted(n for v, n in counts.items() if not is_placeholder(v))
    typical = literal[len(literal) // 2] if literal else 0
    least = max(FREQUENT_SHARE * total, FREQUENT_FACTOR * typical)
    frequent = tuple(
        sorted(v for v, n in counts.items() if n >= least and not is_placeholder(v))
    )
    rare = [n for v, n in counts.items() if v not in frequent and not is_placeholder(v)]
    if len(rare) >= MAX_LITERALS:
        return frequent
    singletons = sum(1 for n in rare if n <= 1)
    if not rare or singletons < SINGLETON_SHARE * len(rare):
        return None
    beside_placeholder = any(is_placeholder(v) for v in counts)
    needed = MIN_RARE_BESIDE_PLACEHOLDER if beside_placeholder else MIN_RARE
    return frequent if len(rare) >= needed else None


_WORD = re.compile(r"[A-Za-z]{3,}")
_NOT_NOUNS = frozenset({"api", "apis", "rest", "internal", "public"})


def placeholder_name(pieces: Sequence[str | None], position: int, kind: str) -> str:
    """``{cart_id}`` after ``carts/`` in a path or ``cart:`` in a key; ``{id}`` elsewhere.

    The word before a variable names what it identifies in REST paths and key schemes; in
    span names and destinations it seldom does (``events.{id}.orders``, not ``event_id``).
    """
    at = 2 * position + 1
    if kind not in (PATH, KEY) or at < 3:
        return "{id}"
    previous, separator = pieces[at - 2], pieces[at - 1]
    if previous is None or separator not in ("/", ":") or not _WORD.fullmatch(previous):
        return "{id}"
    word = previous.lower()
    if word in _NOT_NOUNS:
        return "{id}"
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    return "{" + word[:29] + "_id}"


def learn(
    group: Group,
    members: Mapping[tuple[str, ...], int],
    count_of: Callable[[int], int],
) -> LearnedVariable | None:
    """The variable a group's evidence makes, if it does (``decide``)."""
    if len(members) < 2:
        return None
    spans = {values: count_of(pid) for values, pid in members.items()}
    kept_per_position: list[tuple[str, ...]] = []
    for index in range(len(group.positions)):
        counts: Counter[str] = Counter()
        for values, count in spans.items():
            counts[values[index]] += count
        kept = decide(counts)
        if kept is None:
            return None
        kept_per_position.append(kept)
    pieces = list(group.pieces)
    for position, kind in zip(group.positions, group.kinds, strict=True):
        # ``/repos/{id}/{id}``: the word before two variables names neither of them
        followed = position + 1 in group.positions
        pieces[2 * position + 1] = "{id}" if followed else placeholder_name(pieces, position, kind)
    service, span_kind, fields = group.scope
    return LearnedVariable(
        service,
        span_kind,
        fields,
        tuple(piece or "" for piece in pieces),
        group.positions,
        tuple(kept_per_position),
    )


class LearnedVariables:
    """The learned variables of a store, applied to operations before they are looked up."""

    def __init__(self, variables: Iterable[LearnedVariable] = ()) -> None:
        self.variables: list[LearnedVariable] = []
        self._by_scope: dict[tuple[str, str], list[LearnedVariable]] = {}
        self._applied: dict[tuple[str, str, str, tuple[str, ...]], Operation] = {}
        for variable in variables:
            self.add(variable)

    def add(self, variable: LearnedVariable) -> None:
        self.variables.append(variable)
        self._by_scope.setdefault((variable.service, variable.span_kind), []).append(variable)
        self._applied.clear()

    def apply(self, service: str, kind: str, operation: Operation) -> Operation:
        """The operation with every learned variable of its template in place."""
        found = self._by_scope.get((service, kind))
        if found is None:
            return operation
        cache_key = (service, kind, operation.key, operation.matcher_fields)
        applied = self._applied.get(cache_key)
        if applied is None:
            applied = rewritten(found, operation)
            if len(self._applied) > 65_536:
                self._applied.clear()
            self._applied[cache_key] = applied
        return applied


def rewritten(variables: Sequence[LearnedVariable], operation: Operation) -> Operation:
    """``operation`` with the ``variables`` that apply to it in place, one after another."""
    for _ in range(len(variables) + 1):
        positions = positions_of(operation)
        if positions is None:
            return operation
        for variable in variables:
            changed = variable.rewrite(positions)
            if changed is not None:
                operation = changed
                break
        else:
            return operation
    return operation


class GroupIndex:
    """Which live patterns hold which values in each group."""

    def __init__(self) -> None:
        self._members: dict[Group, dict[tuple[str, ...], int]] = {}
        self._of_pattern: dict[int, list[Group]] = {}

    def add(self, pattern: SpanPattern) -> list[Group]:
        """Index a live pattern; the groups it joined."""
        positions = positions_of(operation_of(pattern))
        if positions is None:
            return []
        scope = (pattern.service, pattern.span_kind, positions.operation.matcher_fields)
        joined = []
        for group, values in groups_of(scope, positions):
            self._members.setdefault(group, {})[values] = pattern.id
            joined.append(group)
        self._of_pattern[pattern.id] = joined
        return joined

    def remove(self, pattern_id: int) -> None:
        for group in self._of_pattern.pop(pattern_id, ()):
            members = self._members.get(group)
            if members is None:
                continue
            for values, member in list(members.items()):
                if member == pattern_id:
                    del members[values]
            if not members:
                del self._members[group]

    def members(self, group: Group) -> dict[tuple[str, ...], int]:
        return self._members.get(group, {})
