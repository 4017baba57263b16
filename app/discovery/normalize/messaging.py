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


@lru_cache(maxsize=16384)
def _operation(
    system: str,
    operation_field: str | None,
    operation: str | None,
    destination_field: str | None,
    destination: str | None,
    destination_value: str | None,
    destination_match: MatchType,
) -> Operation:
    """``destination`` is what the key shows, ``destination_value`` what its matcher wants."""
    matchers = [Matcher(FieldType.SPAN_ATTRIBUTE, "messaging.system", MatchType.EXACT, system)]
    hints = {"system": system.lower()}
    if operation is not None:
        hints["operation"] = operation
        if operation_field is not None:
            matchers.append(
                Matcher(FieldType.SPAN_ATTRIBUTE, operation_field, MatchType.EXACT, operation)
            )
    if destination_field is not None and destination is not None:
        assert destination_value is not None
        matchers.append(
            Matcher(
                FieldType.SPAN_ATTRIBUTE, destination_field, destination_match, destination_value
            )
        )
        target = naming_words(destination)
        if target:
            hints["target"] = target
    return Operation(
        family=Family.MESSAGING,
        key=" ".join(part for part in (system, operation, destination) if part),
        matchers=tuple(matchers),
        hints=MappingProxyType(hints),
    )


def normalize_messaging(span: Span) -> Operation | None:
    """``kafka publish orders.placed``; None when ``messaging.system`` has no value."""
    attributes = span.attributes
    system = attribute_text(attributes.get("messaging.system"))
    if system is None:
        return None
    operation_field: str | None = None
    operation = None
    for field in _OPERATION_FIELDS:
        operation = attribute_text(attributes.get(field))
        if operation is not None:
            operation_field = field
            break
    else:
        operation = _KIND_OPERATION.get(span.kind)

    destination_field: str | None = "messaging.destination.template"
    destination = value = attribute_text(attributes.get("messaging.destination.template"))
    match = MatchType.EXACT
    if destination is None:
        for field in _DESTINATION_FIELDS:
            name = attribute_text(attributes.get(field))
            if name is not None:
                template = template_name(name)
                destination_field, destination = field, template.text
                if template.has_placeholder:
                    value, match = template.regex, MatchType.REGEX
                else:
                    value = name
                break
        else:
            destination_field = None
            for field, shown in _FLAG_FIELDS:
                if attribute_text(attributes.get(field)) == "true":
                    destination_field, destination, value = field, shown, "true"
                    break
    return _operation(
        system, operation_field, operation, destination_field, destination, value, match
    )
