"""Messaging operations: the system, what was done, and the destination it was done to.

``kafka publish orders.placed``, ``rabbitmq process notifications.user.{id}``. The
operation is ``messaging.operation.type`` (current conventions), legacy
``messaging.operation``, else ``messaging.operation.name``; a span with none of them (old
producers left it out) gets ``publish`` or ``process`` from its kind, and no matcher for it.
The destination is ``messaging.destination.template`` when the instrumentation knows it,
else ``messaging.destination.name`` (legacy ``messaging.destination``, or
``messaging.source.name`` of the 1.20 conventions) with ids replaced as for cache keys
(``app.discovery.normalize.cache.template_name``), else an anonymous or temporary flag.

Partitions, offsets, consumer groups, client ids, message keys and message ids never take
part: they tell deliveries of one operation apart, not operations.
"""

from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType
from typing import Any

from app.discovery.normalize.cache import attribute_text, naming_words, template_name
from app.discovery.operation import Family, FieldType, Matcher, MatchType, Operation
from connectors.spans import Span, SpanKind

_OPERATION_FIELDS = (
    "messaging.operation.type",
    "messaging.operation",
    "messaging.operation.name",
)
_DESTINATION_FIELDS = (
    "messaging.destination.name",
    "messaging.destination",
    "messaging.source.name",
)
_FLAG_FIELDS = (
    ("messaging.destination.anonymous", "(anonymous)"),
    ("messaging.destination.temporary", "(temporary)"),
)
_KIND_OPERATION = {SpanKind.PRODUCER: "publish", SpanKind.CONSUMER: "process"}


_Destination = tuple[str, str, MatchType, str]
"""The destination's attribute, what the key shows of it, and how its matcher matches what."""


def _destination(attributes: dict[str, Any]) -> _Destination | None:
    template = attribute_text(attributes.get("messaging.destination.template"))
    if template is not None:
        field = "messaging.destination.template"
        return field, template, MatchType.EXACT, template
    for field in _DESTINATION_FIELDS:
        name = attribute_text(attributes.get(field))
        if name is not None:
            shown = template_name(name)
            if shown.has_placeholder:
                return field, shown.text, MatchType.REGEX, shown.regex
            return field, name, MatchType.EXACT, name
    for field, shown_text in _FLAG_FIELDS:
        if attribute_text(attributes.get(field)) == "true":
            return field, shown_text, MatchType.EXACT, "true"
    return None


@lru_cache(maxsize=16384)
def _operation(
    system: str,
    operation_field: str | None,
    operation: str | None,
    destination: _Destination | None,
) -> Operation:
    matchers = [Matcher(FieldType.SPAN_ATTRIBUTE, "messaging.system", MatchType.EXACT, system)]
    hints = {"system": system.lower()}
    key = [system]
    if operation is not None:
        key.append(operation)
        hints["operation"] = operation
        if operation_field is not None:
            matchers.append(
                Matcher(FieldType.SPAN_ATTRIBUTE, operation_field, MatchType.EXACT, operation)
            )
    if destination is not None:
        field, shown, match_type, value = destination
        key.append(shown)
        matchers.append(Matcher(FieldType.SPAN_ATTRIBUTE, field, match_type, value))
        target = naming_words(shown)
        if target:
            hints["target"] = target
    return Operation(
        family=Family.MESSAGING,
        key=" ".join(key),
        matchers=tuple(matchers),
        hints=MappingProxyType(hints),
    )


def normalize_messaging(span: Span) -> Operation | None:
    """``kafka publish orders.placed``; None when ``messaging.system`` has no value."""
    attributes = span.attributes
    system = attribute_text(attributes.get("messaging.system"))
    if system is None:
        return None
    for field in _OPERATION_FIELDS:
        operation = attribute_text(attributes.get(field))
        if operation is not None:
            return _operation(system, field, operation, _destination(attributes))
    return _operation(system, None, _KIND_OPERATION.get(span.kind), _destination(attributes))
