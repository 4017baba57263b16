"""Normalization overrides: the corrections people make to how spans are grouped.

Three kinds, stored in the pattern store and applied to every later span:

- **split** a pattern by an attribute: its spans that carry the attribute go to one pattern
  per value (``... checkout.tier=gold``), with an exact matcher on it; spans without it stay
  in the pattern split.
- **merge** patterns into one: their operations become one, whose matchers accept what
  any of them accepted (per field, an alternation of their values).
- **placeholder** rule: text of operations matching a regex becomes a placeholder
  (``tenant-(acme|globex)`` → ``{tenant}``), so operations that differ only there become one.
- **literal**: a placeholder discovery learned (``app.discovery.variables``) is removed, and
  never learned there again: its values are operations of their own.

How each re-derives what is already stored: merging adds statistics exactly (sketches,
counters and graph edges are mergeable), and a placeholder rule is a merge of the patterns
whose operations it makes equal. A split, and a placeholder made literal again, cannot be
derived from statistics; see ``app.discovery.rederive``, which replays the recorded
discovery runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import msgspec

from app.discovery.normalize.generic import escape
from app.discovery.operation import FieldType, Matcher, MatchType, Normalizer, Operation
from app.discovery.patterns import PatternKey, SpanPattern
from connectors.spans import Span, SpanKind

if TYPE_CHECKING:  # variables reads operations the way overrides write them
    from app.discovery.variables import Group, LearnedVariable

_PLACEHOLDER_NAME = re.compile(r"[a-z][a-z0-9_]{0,30}")


class OverrideError(ValueError):
    """An override that cannot apply; the message says why and what would work."""


class SplitByAttribute(msgspec.Struct, tag="split", frozen=True):
    pattern: PatternKey
    field_type: FieldType
    field_name: str


class MergePatterns(msgspec.Struct, tag="merge", frozen=True):
    sources: tuple[PatternKey, ...]
    target: PatternKey
    matchers: tuple[Matcher, ...]
    """The merged pattern's matchers, which every source's spans satisfy."""


class PlaceholderRule(msgspec.Struct, tag="placeholder", frozen=True):
    regex: str
    placeholder: str
    """Its name: ``tenant`` puts ``{tenant}`` into operations."""
    service: str | None = None
    """Only this service's operations; None for all."""

    def __post_init__(self) -> None:
        if not _PLACEHOLDER_NAME.fullmatch(self.placeholder):
            raise OverrideError(
                f"placeholder name {self.placeholder!r}: use lower-case letters, digits and _"
            )
        try:
            compiled = re.compile(self.regex)
        except re.error as exc:
            raise OverrideError(f"regex {self.regex!r} does not compile: {exc}") from exc
        if compiled.fullmatch(""):
            raise OverrideError(f"regex {self.regex!r} matches empty text; it must match some")


class KeepLiteral(msgspec.Struct, tag="literal", frozen=True):
    """A position of a template where discovery must not learn a variable: a person said
    its values are operations of their own (``/reports/daily``, ``/reports/weekly``...)."""

    service: str
    span_kind: str
    fields: tuple[str, ...]
    pieces: tuple[str, ...]
    """The template's key in pieces (``app.discovery.normalize.positions.Positions``), with
    the placeholder that was removed at ``position``."""
    position: int

    @property
    def template(self) -> str:
        return "".join(self.pieces)

    @property
    def placeholder(self) -> str:
        return self.pieces[2 * self.position + 1]

    def covers(self, group: Group) -> bool:
        """Whether a group of ``app.discovery.variables`` is of this template and varies at
        this position: its judgement could only make a variable this vetoes."""
        service, span_kind, fields = group.scope
        if (service, span_kind, fields) != (self.service, self.span_kind, self.fields):
            return False
        if self.position not in group.positions or len(group.pieces) != len(self.pieces):
            return False
        return all(
            piece is None or piece == self.pieces[index] for index, piece in enumerate(group.pieces)
        )

    def vetoes(self, variable: LearnedVariable) -> bool:
        """Whether ``variable`` would put a variable where this says no: at this position
        of this template, whatever its other positions hold."""
        if (variable.service, variable.span_kind, variable.fields) != (
            self.service,
            self.span_kind,
            self.fields,
        ):
            return False
        if self.position not in variable.positions or len(variable.pieces) != len(self.pieces):
            return False
        holes = {2 * p + 1 for p in (*variable.positions, *variable.free)}
        return all(
            index in holes or piece == self.pieces[index]
            for index, piece in enumerate(variable.pieces)
        )


Override = SplitByAttribute | MergePatterns | PlaceholderRule | KeepLiteral

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Override)


def encode_override(override: Override) -> str:
    return _encoder.encode(override).decode()


def decode_override(text: str) -> Override:
    return _decoder.decode(text)


def describe(override: Override) -> str:
    """One line for people: what the override does."""
    if isinstance(override, SplitByAttribute):
        service, kind, operation, _ = override.pattern
        return f"split {service} {kind} `{operation}` by {override.field_name}"
    if isinstance(override, MergePatterns):
        names = ", ".join(f"`{key[2]}`" for key in override.sources)
        return f"merge {names} into `{override.target[2]}`"
    if isinstance(override, KeepLiteral):
        return (
            f"keep {override.placeholder} of {override.service} {override.span_kind} "
            f"`{override.template}` literal: one pattern per value"
        )
    scope = f" in {override.service}" if override.service else ""
    return f"placeholder {{{override.placeholder}}} for /{override.regex}/{scope}"


def split_keys(overrides: Iterable[Override]) -> set[PatternKey]:
    """Keys of the patterns being split: their spans must always be normalized."""
    return {o.pattern for o in overrides if isinstance(o, SplitByAttribute)}


# --- placeholder rules --------------------------------------------------------------------


def apply_placeholder(rule: PlaceholderRule, operation: Operation) -> Operation:
    """The operation with the rule's text replaced, and matchers that accept any such text.

    Exact and prefix matchers become regexes with the rule's expression where the matched
    text was; in regex matchers the literal text (as the normalizers or ``re.escape`` write
    it) is replaced.
    The rule reaches text the operation shows literally, not what a placeholder hides.
    """
    expression = re.compile(rule.regex)
    found = {match.group(0) for match in expression.finditer(operation.key) if match.group(0)}
    if not found:
        return operation
    key = expression.sub("{" + rule.placeholder + "}", operation.key)
    generalized = f"(?:{rule.regex})"
    matchers = tuple(_generalize(m, expression, found, generalized) for m in operation.matchers)
    return replace(operation, key=key, matchers=matchers)


def _generalize(
    matcher: Matcher, expression: re.Pattern[str], found: set[str], generalized: str
) -> Matcher:
    if matcher.match_type is MatchType.REGEX:
        value = matcher.match_value
        for text in sorted(found, key=len, reverse=True):
            # as the regex spells it: normalizers escape only what a regex reads specially
            for spelled in dict.fromkeys((escape(text), re.escape(text))):
                # not inside an escape: text ``s`` must not take the ``s`` of ``\s``
                unescaped = r"(?<!\\)" + re.escape(spelled)
                value = re.sub(unescaped, lambda _: generalized, value)
        return replace(matcher, match_value=value)
    if not expression.search(matcher.match_value):
        return matcher
    pieces: list[str] = []
    position = 0
    for match in expression.finditer(matcher.match_value):
        if not match.group(0):
            continue
        pieces.append(re.escape(matcher.match_value[position : match.start()]))
        pieces.append(generalized)
        position = match.end()
    pieces.append(re.escape(matcher.match_value[position:]))
    if matcher.match_type is MatchType.STARTS_WITH:
        pieces.append(".*")
    return replace(matcher, match_type=MatchType.REGEX, match_value="".join(pieces))


def placeholder_groups(
    rule: PlaceholderRule, patterns: Iterable[SpanPattern]
) -> dict[PatternKey, list[SpanPattern]]:
    """Live patterns the rule changes, grouped by the key they get: each group becomes one."""
    groups: dict[PatternKey, list[SpanPattern]] = {}
    live = [p for p in patterns if p.merged_into is None]
    by_key = {p.key: p for p in live}
    for pattern in live:
        if rule.service is not None and pattern.service != rule.service:
            continue
        changed = apply_placeholder(rule, operation_of(pattern))
        if changed.key == pattern.operation:
            continue
        new_key = (pattern.service, pattern.span_kind, changed.key, changed.matcher_fields)
        groups.setdefault(new_key, [])
        existing = by_key.get(new_key)
        if existing is not None and existing not in groups[new_key]:
            groups[new_key].append(existing)
        groups[new_key].append(pattern)
    return groups


def operation_of(pattern: SpanPattern) -> Operation:
    """The operation a pattern was made from, as a normalizer would give it."""
    return Operation(pattern.family, pattern.operation, pattern.matchers, pattern.hints)


# --- merging --------------------------------------------------------------------------------


def merged_matchers(patterns: Sequence[SpanPattern]) -> tuple[Matcher, ...]:
    """Matchers that every span of every one of ``patterns`` satisfies.

    Field by field, the values become one alternation; that needs the patterns to read the
    same fields, which is what ``OverrideError`` says when they do not.
    """
    first = patterns[0]
    fields = [(m.field_type, m.field_name) for m in first.matchers]
    for other in patterns[1:]:
        if (other.service, other.span_kind) != (first.service, first.span_kind):
            raise OverrideError(
                f"{other.name} is a {other.service} {other.span_kind} pattern and "
                f"{first.name} a {first.service} {first.span_kind} one: "
                "only patterns of one service and span kind can merge"
            )
        if [(m.field_type, m.field_name) for m in other.matchers] != fields:
            raise OverrideError(
                f"{other.name} and {first.name} are recognised by different fields "
                f"({', '.join(m.field_name for m in other.matchers)} and "
                f"{', '.join(m.field_name for m in first.matchers)}); "
                "merge patterns that read the same fields, or add a placeholder rule"
            )
    merged: list[Matcher] = []
    for position, matcher in enumerate(first.matchers):
        column = [p.matchers[position] for p in patterns]
        if all(m == matcher for m in column):
            merged.append(matcher)
            continue
        options: list[str] = []
        for each in column:
            option = _as_regex(each)
            if option not in options:
                options.append(option)
        merged.append(
            Matcher(matcher.field_type, matcher.field_name, MatchType.REGEX, "|".join(options))
        )
    return tuple(merged)


def _as_regex(matcher: Matcher) -> str:
    if matcher.match_type is MatchType.EXACT:
        return f"(?:{re.escape(matcher.match_value)})"
    if matcher.match_type is MatchType.STARTS_WITH:
        return f"(?:{re.escape(matcher.match_value)}.*)"
    return f"(?:{matcher.match_value})"


def merge_into(
    target: SpanPattern, sources: Sequence[SpanPattern], all_patterns: list[SpanPattern]
) -> set[int]:
    """Fold ``sources`` into ``target``: statistics, and graph edges from and to them.

    Sources stay in the list (pattern ids are positions) as tombstones with
    ``merged_into`` set, so their names keep resolving to the target; so do the tombstones
    merged into them before. Returns the ids of those earlier tombstones, now the target's.
    """
    folded = {source.id for source in sources if source is not target}
    for source in sources:
        if source is target:
            continue
        target.stats.merge(source.stats)
        for parent_id, calls in source.parents.items():
            all_patterns[parent_id].children.pop(source.id, None)
            if parent_id != source.id:  # its own came with its statistics (below)
                all_patterns[parent_id].stats.rekey_child(source.id, target.id)
            parent_id = target.id if parent_id == source.id else parent_id
            all_patterns[parent_id].children[target.id] += calls
            target.parents[parent_id] += calls
        for child_id, calls in source.children.items():
            all_patterns[child_id].parents.pop(source.id, None)
            child_id = target.id if child_id == source.id else child_id
            all_patterns[child_id].parents[target.id] += calls
            target.children[child_id] += calls
        # The source's calls over time and its time profile came with its statistics,
        # under their child ids.
        target.stats.rekey_child(source.id, target.id)
        source.retire(into=target.id)
    retargeted = set()
    for pattern in all_patterns:
        if pattern.merged_into in folded and pattern.id not in folded:
            pattern.merged_into = target.id
            retargeted.add(pattern.id)
    return retargeted


# --- the normalizer with overrides ------------------------------------------------------------


class OverriddenNormalizer:
    """A normalizer with the overrides applied, in the order they were made."""

    def __init__(self, base: Normalizer, overrides: Sequence[Override]) -> None:
        self._base = base
        self._rules = [o for o in overrides if isinstance(o, PlaceholderRule)]
        self._splits: dict[PatternKey, list[SplitByAttribute]] = {}
        self._merged: dict[PatternKey, MergePatterns] = {}
        for override in overrides:
            if isinstance(override, SplitByAttribute):
                self._splits.setdefault(override.pattern, []).append(override)
            elif isinstance(override, MergePatterns):
                for key in override.sources:
                    self._merged[key] = override
                self._merged[override.target] = override
        self._cache: dict[tuple[str, str, str, tuple[Matcher, ...]], Operation] = {}

    @property
    def active(self) -> bool:
        return bool(self._rules or self._splits or self._merged)

    def __call__(self, span: Span) -> Operation:
        operation = self._base(span)
        if not self.active:
            return operation
        service = span.service_name
        kind = SpanKind(span.kind).label
        cache_key = (service, kind, operation.key, operation.matchers)
        settled = self._cache.get(cache_key)
        if settled is None:
            settled = self._settle(service, kind, operation)
            if len(self._cache) > 65_536:
                self._cache.clear()
            self._cache[cache_key] = settled
        splits = self._splits.get((service, kind, settled.key, settled.matcher_fields))
        if splits:
            settled = _split(settled, splits, span)
        return settled

    def _settle(self, service: str, kind: str, operation: Operation) -> Operation:
        for rule in self._rules:
            if rule.service is None or rule.service == service:
                operation = apply_placeholder(rule, operation)
        merge = self._merged.get((service, kind, operation.key, operation.matcher_fields))
        while merge is not None:
            target = merge.target
            operation = replace(operation, key=target[2], matchers=merge.matchers)
            following = self._merged.get((service, kind, operation.key, operation.matcher_fields))
            merge = following if following is not merge else None
        return operation


def _split(operation: Operation, splits: list[SplitByAttribute], span: Span) -> Operation:
    key = operation.key
    matchers = list(operation.matchers)
    for split in splits:
        matcher = Matcher(split.field_type, split.field_name, MatchType.EXACT, "")
        value = matcher.value_of(span)
        if value is None:
            continue
        key = f"{key} [{split.field_name}={value}]"
        matchers.append(replace(matcher, match_value=value))
    if key == operation.key:
        return operation
    return replace(operation, key=key, matchers=tuple(matchers))
