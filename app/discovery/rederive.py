"""Applying an override to the stored patterns, re-deriving what it changes.

``merge`` and ``placeholder`` fold patterns together, which statistics allow exactly. A
``split`` needs the spans themselves: the split pattern is emptied and the recorded runs
that can be read again (the sample system, OTLP files still on disk) are replayed through
the normalizer with the split in place, counting only the split pattern and its new
variants, so nothing else is counted twice. Runs that cannot be replayed (spans pushed to
the receiver, Tempo windows) are named in the result: a later discovery run fills in.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from app.discovery.attribute_profile import MAX_KEYS as MAX_PROFILED_KEYS
from app.discovery.cluster import Normalizer, PatternClusterer, ReplayScope
from app.discovery.normalize.positions import positions_of
from app.discovery.operation import FieldType, Operation
from app.discovery.overrides import (
    KeepLiteral,
    MergePatterns,
    Override,
    OverrideError,
    PlaceholderRule,
    SplitByAttribute,
    apply_placeholder,
    merge_into,
    merged_matchers,
    operation_of,
    placeholder_groups,
    split_keys,
)
from app.discovery.patterns import PatternKey, SpanPattern
from app.discovery.run import describe_source
from app.discovery.store import StoredOverride
from app.discovery.variables import LearnedVariable
from connectors.spans import Span

Replay = Callable[[dict[str, object]], Iterator[list[Span]] | None]
"""Batches of a recorded run's source again, or None when it cannot be read again."""


@dataclass
class Applied:
    override: Override
    patterns: list[SpanPattern]
    """All patterns, re-derived where the override changed them."""
    changed: list[str] = field(default_factory=list)
    """Names of the patterns it changed or made."""
    replayed: list[dict[str, object]] = field(default_factory=list)
    not_replayed: list[dict[str, object]] = field(default_factory=list)


def merged_by_a_person(overrides: Iterable[StoredOverride], pattern: SpanPattern) -> bool:
    """Whether a person merged the pattern away, rather than a learned variable folding it."""
    return any(
        isinstance(stored.override, MergePatterns) and pattern.key in stored.override.sources
        for stored in overrides
    )


def find_pattern(patterns: Sequence[SpanPattern], name: str) -> SpanPattern:
    """The live pattern a name means, following merges; a clear error when there is none."""
    found = next((p for p in patterns if p.name == name), None)
    if found is None:
        close = sorted(p.name for p in patterns if name.lower() in p.name.lower())[:5]
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `spanwise patterns list`"
        raise OverrideError(f"no pattern named {name!r}{hint}")
    while found.merged_into is not None:
        found = patterns[found.merged_into]
    return found


def merge(patterns: list[SpanPattern], names: Sequence[str], into: str) -> Applied:
    target = find_pattern(patterns, into)
    sources = [find_pattern(patterns, name) for name in names]
    unique = {s.id: s for s in sources if s.id != target.id}
    sources = list(unique.values())
    if not sources:
        raise OverrideError("name at least one pattern other than the one merged into")
    matchers = merged_matchers([target, *sources])
    override = MergePatterns(tuple(s.key for s in sources), target.key, matchers)
    merge_into(target, sources, patterns)
    target.matchers = matchers
    return Applied(override, patterns, changed=[target.name, *(s.name for s in sources)])


def add_placeholder(
    patterns: list[SpanPattern], regex: str, placeholder: str, service: str | None
) -> Applied:
    rule = PlaceholderRule(regex, placeholder, service)
    groups = placeholder_groups(rule, patterns)
    if not groups:
        raise OverrideError(
            f"/{regex}/ matches no pattern's operation"
            + (f" in {service}" if service else "")
            + "; `spanwise patterns list` shows the operations"
        )
    applied = Applied(rule, patterns)
    for new_key, group in groups.items():
        target = next((p for p in group if p.key == new_key), group[0])
        sources = [p for p in group if p is not target]
        matchers = (
            merged_matchers(
                [_with_rule(rule, target), *(_with_rule(rule, source) for source in sources)]
            )
            if sources
            else _with_rule(rule, target).matchers
        )
        merge_into(target, sources, patterns)
        target.operation = new_key[2]
        target.matchers = matchers
        applied.changed += [target.name, *(s.name for s in sources)]
    return applied


def _with_rule(rule: PlaceholderRule, pattern: SpanPattern) -> SpanPattern:
    """A view of the pattern with the rule applied, for working out merged matchers."""
    changed = apply_placeholder(rule, operation_of(pattern))
    return replace(pattern, operation=changed.key, matchers=changed.matchers)


def split(
    patterns: list[SpanPattern],
    name: str,
    attribute: str,
    *,
    resource: bool,
    overrides: Sequence[Override],
    normalizer: Normalizer,
    runs: Sequence[dict[str, object]],
    replay: Replay,
    retired_names: Collection[str] = (),
    force: bool = False,
    variables: Sequence[LearnedVariable] = (),
) -> Applied:
    """Split a pattern by an attribute's values, replaying the recorded runs. The new
    patterns' names avoid ``retired_names``: old names keep meaning their patterns;
    ``variables`` are the store's learned ones, which replayed spans get as they did.

    Refused when the pattern's attribute profile shows one value (or none) of the attribute
    on all its spans, and, unless ``force``, when some runs cannot be replayed: the spans
    they counted would leave the pattern's statistics for good.
    """
    pattern = find_pattern(patterns, name)
    _check_profile(pattern, attribute)
    field_type = FieldType.RESOURCE_ATTRIBUTE if resource else FieldType.SPAN_ATTRIBUTE
    if any(m.field_name == attribute and m.field_type is field_type for m in pattern.matchers):
        raise OverrideError(f"{pattern.name} already has one value of {attribute}")
    override = SplitByAttribute(pattern.key, field_type, attribute)
    if override in overrides:
        raise OverrideError(f"{pattern.name} is already split by {attribute}")
    all_overrides = [*overrides, override]
    for other_id in list(pattern.parents):
        patterns[other_id].children.pop(pattern.id, None)
        patterns[other_id].stats.forget_child(pattern.id)
    for other_id in list(pattern.children):
        patterns[other_id].parents.pop(pattern.id, None)
    pattern.retire(into=None)
    applied = Applied(override, patterns)
    prefix = pattern.operation + " ["

    def admits(key: PatternKey) -> bool:
        return key[:2] == pattern.key[:2] and key[2].startswith(prefix)

    scope = ReplayScope(affected={pattern.id}, admits=admits)
    clusterer = PatternClusterer(
        normalizer,
        known=patterns,
        unindexed=split_keys(all_overrides),
        scope=scope,
        retired_names=retired_names,
        variables=variables,
        overrides=all_overrides,
    )
    for source in runs:
        batches = replay(source)
        if batches is None:
            applied.not_replayed.append(source)
            continue
        for batch in batches:
            clusterer.accept(batch)
        applied.replayed.append(source)
    clusterer.finish()
    applied.patterns = clusterer.patterns
    applied.changed = [clusterer.patterns[i].name for i in sorted(scope.affected)]
    if applied.not_replayed and not force:
        lost = ", ".join(describe_source(source) for source in applied.not_replayed[:3])
        raise OverrideError(
            f"some of {pattern.name}'s spans came from where they cannot be read again "
            f"({lost}): splitting now would take their statistics away, and only later spans "
            "would fill the parts. Split with force (--force) to do it anyway"
        )
    parts = [
        clusterer.patterns[i]
        for i in scope.affected
        if i != pattern.id and clusterer.patterns[i].stats.count
    ]
    if applied.replayed and not applied.not_replayed and len(parts) < 2:  # all seen again
        if not parts:
            raise OverrideError(f"none of {pattern.name}'s spans has {attribute}: nothing to split")
        raise OverrideError(
            f"all of {pattern.name}'s spans have the same {attribute}: a split would only "
            "rename it (`spanwise patterns rename` does that)"
        )
    return applied


def keep_literal(
    patterns: list[SpanPattern],
    name: str,
    placeholder: str,
    *,
    overrides: Sequence[Override],
    normalizer: Normalizer,
    runs: Sequence[dict[str, object]],
    replay: Replay,
    variables: Sequence[LearnedVariable],
    retired_names: Collection[str] = (),
    force: bool = False,
) -> Applied:
    """Remove a placeholder discovery learned from a pattern: its values are patterns of
    their own again, by replaying the recorded runs (as a split does), and discovery never
    learns a variable there again. The patterns it folded come back under their old names.

    Refused when the placeholder is not a learned one (a shape rule's ``{id}`` of digits:
    ``spanwise patterns split`` by an attribute tells such spans apart), and, unless
    ``force``, when some runs cannot be replayed.
    """
    pattern = find_pattern(patterns, name)
    positions = positions_of(operation_of(pattern))
    wanted = placeholder if placeholder.startswith("{") else "{" + placeholder + "}"
    if positions is None or wanted not in positions.values:
        held = [v for v in (positions.values if positions else ()) if v.startswith("{")]
        raise OverrideError(
            f"{pattern.name} ({pattern.operation}) has no {wanted}"
            + (f"; its placeholders: {', '.join(held)}" if held else "")
        )
    position = positions.values.index(wanted)
    learned = [v for v in variables if v.fits(positions) and position in v.positions]
    if not learned:
        raise OverrideError(
            f"{wanted} in {pattern.name} comes from the shape of its values, not from what "
            "discovery learned; `spanwise patterns split` by an attribute tells such spans apart"
        )
    fields = positions.operation.matcher_fields
    override = KeepLiteral(pattern.service, pattern.span_kind, fields, positions.pieces, position)
    # The variables vetoed go whole: every position they held takes its values again.
    varying = {p for v in learned for p in (*v.positions, *v.free)}
    holes = {2 * p + 1 for p in varying}
    template = positions.pieces

    def admits(key: PatternKey) -> bool:
        if key[:2] != pattern.key[:2] or key[3] != fields:
            return False
        read = positions_of(Operation(pattern.family, key[2], pattern.matchers, pattern.hints))
        return (
            read is not None
            and len(read.pieces) == len(template)
            and all(i in holes or piece == template[i] for i, piece in enumerate(read.pieces))
        )

    # The patterns folded into it come back (empty: the replay fills them) under their names.
    revived = [p for p in patterns if p.merged_into == pattern.id and admits(p.key)]
    for folded in revived:
        folded.merged_into = None
    for other_id in list(pattern.parents):
        patterns[other_id].children.pop(pattern.id, None)
        patterns[other_id].stats.forget_child(pattern.id)
    for other_id in list(pattern.children):
        patterns[other_id].parents.pop(pattern.id, None)
    pattern.retire(into=None)
    # It keeps the spans whose values a shape rule takes for ids, under its name.
    shaped = positions.with_values({p: "{id}" for p in varying if p not in _free(learned)})
    if shaped is not None:
        pattern.operation, pattern.matchers = shaped.key, shaped.matchers
        pattern.hints = dict(shaped.hints)
    scope = ReplayScope(affected={pattern.id, *(p.id for p in revived)}, admits=admits)
    all_overrides = [*overrides, override]
    clusterer = PatternClusterer(
        normalizer,
        known=patterns,
        unindexed=split_keys(all_overrides),
        scope=scope,
        retired_names=retired_names,
        variables=variables,
        overrides=all_overrides,
    )
    applied = Applied(override, patterns)
    for source in runs:
        batches = replay(source)
        if batches is None:
            applied.not_replayed.append(source)
            continue
        for batch in batches:
            clusterer.accept(batch)
        applied.replayed.append(source)
    clusterer.finish()
    if applied.not_replayed and not force:
        lost = ", ".join(describe_source(source) for source in applied.not_replayed[:3])
        raise OverrideError(
            f"some of {pattern.name}'s spans came from where they cannot be read again "
            f"({lost}): making {wanted} literal now would take their statistics away, and "
            "only later spans would fill the patterns of its values. Do it with force "
            "(--force) anyway"
        )
    clusterer.rescope(pattern.service, pattern.span_kind)
    applied.patterns = clusterer.patterns
    applied.changed = [clusterer.patterns[i].name for i in sorted(scope.affected)]
    return applied


def _free(variables: Sequence[LearnedVariable]) -> set[int]:
    return {p for v in variables for p in v.free}


def _check_profile(pattern: SpanPattern, attribute: str) -> None:
    """Refuse a split the pattern's attribute profile already shows to be empty: one value
    of the attribute on every profiled span, or none, while the profile had room for it."""
    profile = pattern.stats.profile
    if not profile.profiled or attribute in profile.dropped:
        return
    counts = profile.values.get(attribute)
    if counts is None:
        if len(profile.values) < MAX_PROFILED_KEYS:
            raise OverrideError(f"none of {pattern.name}'s spans has {attribute}: nothing to split")
        return
    if len(counts) == 1 and next(iter(counts.values()))[0] == profile.profiled:
        value = next(iter(counts))
        raise OverrideError(
            f"all of {pattern.name}'s spans have {attribute}={value}: a split would only "
            "rename it (`spanwise patterns rename` does that)"
        )


def split_parts(patterns: Sequence[SpanPattern]) -> dict[int, list[int]]:
    """Patterns that were split (no spans left, variants named ``operation [attr=value]``),
    by id, with the ids of their parts, busiest first."""
    by_kind: dict[tuple[str, str], list[SpanPattern]] = {}
    for pattern in patterns:
        if pattern.merged_into is None and pattern.stats.count:
            by_kind.setdefault((pattern.service, pattern.span_kind), []).append(pattern)
    found: dict[int, list[int]] = {}
    for pattern in patterns:
        if pattern.merged_into is not None or pattern.stats.count:
            continue
        prefix = pattern.operation + " ["
        parts = [
            p
            for p in by_kind.get((pattern.service, pattern.span_kind), ())
            if p.operation.startswith(prefix)
        ]
        if parts:
            found[pattern.id] = [p.id for p in sorted(parts, key=lambda p: -p.stats.count)]
    return found
