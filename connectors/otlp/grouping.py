"""Regroup flat spans under their resource and scope, as OTLP documents nest them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from connectors.spans import Attributes, Span

ScopeKey = tuple[str, str]


def group_by_resource_and_scope(
    spans: Iterable[Span],
) -> Iterator[tuple[Attributes, dict[ScopeKey, list[Span]]]]:
    """Yield each resource with its spans by (scope name, scope version), in first-seen order.

    Spans decoded from one resource share one dict, so identity groups them cheaply; equal
    resources held in separate dicts are merged by value.
    """
    by_identity: dict[int, tuple[Attributes, dict[ScopeKey, list[Span]]]] = {}
    by_value: dict[tuple[tuple[str, str], ...], tuple[Attributes, dict[ScopeKey, list[Span]]]] = {}
    for span in spans:
        entry = by_identity.get(id(span.resource))
        if entry is None:
            value_key = tuple(sorted((k, repr(v)) for k, v in span.resource.items()))
            entry = by_value.get(value_key)
            if entry is None:
                entry = (span.resource, {})
                by_value[value_key] = entry
            by_identity[id(span.resource)] = entry
        entry[1].setdefault((span.scope_name, span.scope_version), []).append(span)
    yield from by_value.values()
