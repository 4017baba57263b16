"""Short matchers for a store written before they were short (schema 2 and older).

Patterns keep their keys, names and statistics; their matchers are built again from their
own sample spans, as discovery builds them now (short classes, database operation and
table, exclusions for more specific siblings). A pattern whose samples no longer give its
key (one a person merged others into, or split) keeps the matchers it has, which its
spans satisfy as before.
"""

from __future__ import annotations

from app.discovery.exclusions import ExclusionKeeper, scope_of, witnesses
from app.discovery.normalize import normalize
from app.discovery.overrides import OverriddenNormalizer, PlaceholderRule
from app.discovery.store import PatternStore


def rematch_store(store: PatternStore) -> int:
    """Build the matchers of the store's patterns again; how many changed."""
    rules = [o.override for o in store.overrides() if isinstance(o.override, PlaceholderRule)]
    with_rules = OverriddenNormalizer(normalize, rules)
    normalizer = with_rules if with_rules.active else normalize
    patterns = store.load()
    changed = 0
    for pattern in patterns:
        if pattern.merged_into is not None:
            continue
        for span in witnesses(pattern):
            operation = normalizer(span)
            if operation.key == pattern.operation:
                if operation.matchers != pattern.matchers:
                    pattern.matchers = operation.matchers
                    changed += 1
                break
    keeper = ExclusionKeeper(patterns)
    for scope in {scope_of(p) for p in patterns if p.merged_into is None}:
        keeper.rescope(scope)
    store.save(patterns)
    return changed
