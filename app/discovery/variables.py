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

- A group is judged from ``MIN_EARLY_SPANS`` spans on, and again as spans come.
- A **frequent** value is a literal sibling such as ``/orders/search`` beside the order
  ids: it stays a pattern of its own, and the variable's matchers leave it out (most
  specific first, ``app.discovery.exclusions``). From ``MIN_SPANS`` spans on, that is a
  value with ``FREQUENT_SHARE`` of the group's spans and ``FREQUENT_FACTOR`` times the spans
  of the median literal value. Before, a value seen ``EARLY_FREQUENT`` times may be one:
  the group waits for ``MIN_SPANS``, unless a shape rule found ids at the position too,
  which makes it a variable keeping such values literal (``refines`` folds them later).
- The other literal values are **rare**. The position is a variable when there are
  ``MIN_RARE`` rare values of which ``SINGLETON_SHARE`` or more were seen once
  (``EARLY_SINGLETON_SHARE`` before ``MIN_SPANS``): ids keep coming, while five locales or a
  dozen templates soon stop being new; when a shape rule found ids there too and
  ``MIN_RARE_BESIDE_PLACEHOLDER`` rare values were mostly seen once (the ids it missed), or
  ``MIN_RARE_BESIDE_PLACEHOLDER`` values are templated in part (``us-east-cell-{id}``: ids a
  shape rule cut short); or, whatever their counts, when there are ``MAX_LITERALS`` rare
  values.

In a group of two positions, one judged a variable and one judged stable makes a variable
of the first whatever the second holds (``/api/{version}/bookings/{booking_id}`` learns the
bookings from the spans of all versions at once); the literal siblings of the first are
then found among all its values and beside each value of the second (``siblings_beside``),
so that ``/invoices/recent`` and ``/bookings/featured`` stay apart from the ids beside them.
Once learned, a variable stays: a position that looks stable in a later batch does not
undo it. A value it keeps literal is judged again as spans come (``refines``): a popular id
that looked like a sibling folds in once its share fades.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import msgspec

from app.discovery.normalize.ids import PLACEHOLDER_TOKEN
from app.discovery.normalize.positions import KEY, NAME, PATH, Positions, positions_of
from app.discovery.operation import Operation
from app.discovery.overrides import operation_of
from app.discovery.patterns import SpanPattern

MIN_EARLY_SPANS = 48
"""Spans a group needs before it is judged at all: by then a literal sibling with a tenth
of the calls has been seen twice or more in 96 groups out of 100."""
MIN_SPANS = 96
"""Spans from which frequent values are told by their counts: a sibling with a tenth of
the calls then has ``FREQUENT_FACTOR`` times the median in 96 groups out of 100, and an id
drawn from a few hundred almost never does."""
FREQUENT_SHARE = 0.05
"""A value with this share of its group's spans is a literal sibling, not an id..."""
FREQUENT_FACTOR = 4
"""... if it also has this many times the spans of the median literal value: a value seen
three times beside ids seen once each may be an id that was lucky."""
EARLY_FREQUENT = 2
"""Before ``MIN_SPANS``, the spans of a value that may be a literal sibling: the position
waits for ``MIN_SPANS`` then, so that only a group of values all seen once is judged early."""
MIN_RARE = 8
"""Rare values needed: fewer could be a handful of stable values (versions, locales)."""
MIN_RARE_BESIDE_PLACEHOLDER = 3
"""Rare values needed where a shape rule already found ids at the position."""
SINGLETON_SHARE = 0.5
"""Of the rare values, the share seen only once: ids keep coming, literals repeat."""
EARLY_SINGLETON_SHARE = 0.75
"""The same, on the little evidence before ``MIN_SPANS``."""
REFINE_SPANS = MIN_SPANS
REFINE_SHARE = FREQUENT_SHARE / 2
"""A value kept literal folds into its variable after all when, with ``REFINE_SPANS`` spans
between them, it has less than this share: a popular id, lucky when the variable was
learned, whose share fades; a literal sibling keeps its own."""
MAX_LITERALS = 64
"""Rare values that make a variable whatever their counts."""
MAX_FREE_VALUES = 8
"""A stable position left free beside a variable holds at most this many values (versions,
locales, regions); more, and it is resources or actions, each with ids of its own or none."""
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
    free: tuple[int, ...] = ()
    """Positions whose value does not matter here and stays as it is: the version in
    ``/api/{version}/bookings/{booking_id}``, judged stable where the booking was judged a
    variable from the spans of all versions at once."""
    free_values: tuple[tuple[str, ...], ...] = ()
    """For each free position, the values it had then: a value never seen there (another
    resource than the versions' bookings) is not taken for one of them."""

    @property
    def template(self) -> str:
        """The key with the placeholders: ``POST cart /carts/{cart_id}/items``."""
        return "".join(self.pieces)

    @property
    def identity(self) -> tuple[object, ...]:
        """What it is, whatever literals it keeps (those can be refined later)."""
        return (
            self.service,
            self.span_kind,
            self.fields,
            self.pieces,
            self.positions,
            self.free,
            self.free_values,
        )

    def describe(self) -> str:
        kept = sorted({value for values in self.literals for value in values})
        keeping = f" (keeping {', '.join(kept)})" if kept else ""
        return f"{self.service} {self.span_kind} `{self.template}`{keeping}"

    def fits(self, positions: Positions) -> bool:
        """Whether a key is of this variable's template: the same but at its positions
        with the same matcher fields."""
        pieces = positions.pieces
        mine = self.pieces
        if len(pieces) != len(mine) or positions.operation.matcher_fields != self.fields:
            return False
        holes = {2 * position + 1 for position in (*self.positions, *self.free)}
        if not all(index in holes or piece == mine[index] for index, piece in enumerate(pieces)):
            return False
        return all(
            pieces[2 * position + 1] in allowed
            for position, allowed in zip(self.free, self.free_values, strict=False)
        )


@dataclass(frozen=True)
class Group:
    """Patterns whose keys are equal but at ``positions``."""

    scope: Scope
    pieces: tuple[str | None, ...]
    """The key's pieces, None at the positions that vary."""
    positions: tuple[int, ...]
    kinds: tuple[str, ...]


def groups_of(scope: Scope, positions: Positions) -> list[tuple[Group, tuple[str, ...]]]:
    """The groups a pattern's key is in, each with its values at the group's positions.

    A key of one word (a span named ``load_config``) is in none: with nothing fixed beside
    it, a variable there would take every name of the service and kind."""
    pieces = positions.pieces
    kinds = positions.kinds
    if len(kinds) == 1 and not _WORD.search(pieces[0] + pieces[2]):
        return []
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


def siblings_beside(counts: Mapping[str, int]) -> set[str]:
    """The literal siblings among the values beside one value of a free position: by the
    rule of ``frequent_values`` where there are ``MIN_EARLY_SPANS``; with fewer, every
    value seen twice (an id that was lucky stays a pattern of its own, where a sibling
    folded into the ids could not be told apart again)."""
    total = sum(counts.values())
    if total >= MIN_EARLY_SPANS:
        share = FREQUENT_SHARE * total
        literal = sorted(n for v, n in counts.items() if not holds_placeholder(v))
        typical = literal[len(literal) // 2] if literal else 0
        least = max(share, FREQUENT_FACTOR * typical, EARLY_FREQUENT)
    else:
        least = EARLY_FREQUENT
    return {v for v, n in counts.items() if n >= least and not holds_placeholder(v)}


def frequent_values(counts: Mapping[str, int]) -> set[str]:
    """The values of a position that are literal siblings (see the module)."""
    total = sum(counts.values())
    literal = sorted(n for v, n in counts.items() if not holds_placeholder(v))
    if total < MIN_SPANS:
        least: float = EARLY_FREQUENT
    else:
        typical = literal[len(literal) // 2] if literal else 0
        least = max(FREQUENT_SHARE * total, FREQUENT_FACTOR * typical)
    return {v for v, n in counts.items() if n >= least and not holds_placeholder(v)}


def decide(
    counts: Mapping[str, int], frequent: set[str] | None = None, *, early: bool = True
) -> tuple[str, ...] | None:
    """Whether a position's values (value -> spans) make it a variable: its ``frequent``
    values (``frequent_values`` unless given), to keep literal, if so; else None.
    ``early``: whether it may be judged before ``MIN_SPANS`` (not a word of a span name,
    where a handful of literal names seen once each look like ids)."""
    total = sum(counts.values())
    if total < (MIN_EARLY_SPANS if early else MIN_SPANS):
        return None
    if frequent is None:
        frequent = frequent_values(counts)
    templated = [value for value in counts if holds_placeholder(value)]
    if frequent and total < MIN_SPANS and not templated:
        return None  # a value seen again may be a literal sibling: wait for more spans
    kept = tuple(sorted(frequent))
    rare = [n for v, n in counts.items() if v not in frequent and v not in templated]
    if len(rare) >= MAX_LITERALS:
        return kept
    if not rare:  # ``us-east-cell-{id}``, ``eu-west-cell-{id}``...: ids a shape rule cut short
        return kept if len(templated) >= MIN_RARE_BESIDE_PLACEHOLDER else None
    singletons = sum(1 for n in rare if n <= 1)
    share = SINGLETON_SHARE if total >= MIN_SPANS else EARLY_SINGLETON_SHARE
    if singletons < share * len(rare):
        return None
    needed = MIN_RARE_BESIDE_PLACEHOLDER if templated else MIN_RARE
    return kept if len(rare) >= needed else None


def holds_placeholder(value: str) -> bool:
    """``{id}``, or a value a shape rule templated in part: ``SKU-{id}``."""
    return "{" in value and _PLACEHOLDER_INSIDE.search(value) is not None


_PLACEHOLDER_INSIDE = re.compile(PLACEHOLDER_TOKEN)
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
    columns: list[Counter[str]] = [Counter() for _ in group.positions]
    for values, count in spans.items():
        for index, value in enumerate(values):
            columns[index][value] += count
    early = NAME not in group.kinds
    verdicts = [decide(column, early=early) for column in columns]
    if all(verdict is None for verdict in verdicts):
        return None
    if None in verdicts:
        if sum(spans.values()) < MIN_SPANS:
            return None  # a free position needs as much evidence as a variable one
        # the variable's literal siblings: among all its values, or beside one value of the
        # free position (``/invoices/recent`` beside the invoice ids, where
        # ``/bookings/featured`` is beside the booking ids)
        index = verdicts.index(None)
        variable = 1 - index
        if len(columns[index]) > MAX_FREE_VALUES:
            return None  # not a handful of versions or locales: each learns on its own
        frequent = frequent_values(columns[variable])
        allowed: list[str] = []
        for free_value in columns[index]:
            beside = Counter({v[variable]: n for v, n in spans.items() if v[index] == free_value})
            siblings = siblings_beside(beside)
            frequent |= siblings
            # only where ids show beside it too (``/auth/login``, ``/auth/logout`` show none)
            rare = [n for value, n in beside.items() if value not in siblings]
            if len(rare) >= MIN_RARE_BESIDE_PLACEHOLDER and 2 * rare.count(1) >= len(rare):
                allowed.append(free_value)
        if not allowed:
            return None
        columns[index] = Counter({value: columns[index][value] for value in allowed})
        verdicts[variable] = decide(columns[variable], frequent, early=early)
        if verdicts[variable] is None:
            return None
    judged = zip(group.positions, verdicts, strict=True)
    variables = [position for position, verdict in judged if verdict is not None]
    pieces = list(group.pieces)
    for position, kind in zip(group.positions, group.kinds, strict=True):
        if position in variables:  # as the first key of the group will read (``_names``)
            followed = position + 1 in variables
            name = "{id}" if followed else placeholder_name(pieces, position, kind)
            pieces[2 * position + 1] = name
    service, span_kind, fields = group.scope
    return LearnedVariable(
        service,
        span_kind,
        fields,
        tuple(piece or "" for piece in pieces),
        tuple(variables),
        tuple(verdict for verdict in verdicts if verdict is not None),
        tuple(p for p in group.positions if p not in variables),
        tuple(
            tuple(sorted(columns[i])) for i, p in enumerate(group.positions) if p not in variables
        ),
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
        """Learn a variable, or take its new literals where one of its identity is known."""
        scope = self._by_scope.setdefault((variable.service, variable.span_kind), [])
        for known in (self.variables, scope):
            for index, other in enumerate(known):
                if other.identity == variable.identity:
                    known[index] = variable
                    break
            else:
                known.append(variable)
        self._applied.clear()

    def in_scope(self, service: str, kind: str) -> list[LearnedVariable]:
        return self._by_scope.get((service, kind), [])

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


def without_literals(variable: LearnedVariable, positions: Positions) -> LearnedVariable | None:
    """The variable no longer keeping the literal values that ``positions`` hold at its
    positions; None when it keeps none of them."""
    literals = tuple(
        tuple(value for value in kept if value != positions.values[position])
        for position, kept in zip(variable.positions, variable.literals, strict=True)
    )
    if literals == variable.literals:
        return None
    return msgspec.structs.replace(variable, literals=literals)


def refines(kept_spans: int, variable_spans: int) -> bool:
    """Whether a value kept literal, with ``kept_spans``, should fold into its variable's
    pattern, with ``variable_spans`` (see ``REFINE_SHARE``)."""
    total = kept_spans + variable_spans
    return total >= REFINE_SPANS and kept_spans < REFINE_SHARE * total


def rewritten(variables: Sequence[LearnedVariable], operation: Operation) -> Operation:
    """``operation`` with placeholders where the ``variables`` of its template say.

    Every variable that fits the key takes part at once: a value any of them keeps literal
    stays, whichever learned the position first. A placeholder is named after the word
    before it in the key (``placeholder_name``), so variables learned in different groups
    name one position alike. Rewritten keys may fit other variables (learned where the key
    had a placeholder already), so this goes on until nothing changes.
    """
    for _ in range(4):
        positions = positions_of(operation)
        if positions is None:
            return operation
        fitting = [variable for variable in variables if variable.fits(positions)]
        kept: dict[int, set[str]] = {}
        for variable in fitting:
            for position, literals in zip(variable.positions, variable.literals, strict=True):
                kept.setdefault(position, set()).update(literals)
        values = positions.values
        replaced = {position for position, keep in kept.items() if values[position] not in keep}
        if not replaced:
            return operation
        names = _names(positions, replaced)
        changes = {p: name for p, name in names.items() if values[p] != name}
        if not changes:
            return operation
        changed = positions.with_values(changes)
        if changed is None:
            return operation
        operation = changed
    return operation


def _names(positions: Positions, replaced: set[int]) -> dict[int, str]:
    """The placeholder of each position to replace, in the key as it will read."""
    pieces: list[str | None] = list(positions.pieces)
    values = positions.values
    kinds = positions.kinds
    for position in replaced:
        pieces[2 * position + 1] = None
    names = {}
    for position in replaced:
        after = position + 1
        # ``/repos/{id}/{id}``: the word before two variables names neither of them
        followed = (
            after < len(values)
            and kinds[after] == kinds[position]
            and (after in replaced or holds_placeholder(values[after]))
        )
        kind = kinds[position]
        names[position] = "{id}" if followed else placeholder_name(pieces, position, kind)
    return names


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
