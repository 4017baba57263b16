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
from app.discovery.normalize.generic import template_regex
from app.discovery.normalize.ids import IN_DESTINATION, in_raw_text
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
            shown = template_name(in_raw_text(name))
            if shown.has_placeholder:
                regex = template_regex(shown.text, IN_DESTINATION)
                return field, shown.text, MatchType.REGEX, regex
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


def read_key(operation: Operation) -> tuple[str, str] | None:
    """The text before a messaging operation's destination, and the destination as its key
    shows it; None when the destination is a template the instrumentation gave, or a flag."""
    if operation.family is not Family.MESSAGING:
        return None
    destination_field = operation.matcher_fields[-1]
    if destination_field not in _DESTINATION_FIELDS:
        return None
    system = operation.matchers[0].match_value
    verb = operation.hints.get("operation")
    head = f"{system} {verb} " if verb else f"{system} "
    if not operation.key.startswith(head):
        return None
    return head, operation.key[len(head) :]


def retemplated(operation: Operation, destination: str) -> Operation:
    """The operation with ``destination`` (a template) as what its key shows."""
    system = operation.matchers[0].match_value
    fields = operation.matcher_fields
    operation_field = fields[1] if len(fields) == 3 else None
    if template_name(destination).has_placeholder:
        regex = template_regex(destination, IN_DESTINATION)
        found: _Destination = (fields[-1], destination, MatchType.REGEX, regex)
    else:
        found = (fields[-1], destination, MatchType.EXACT, destination)
    return _operation(system, operation_field, operation.hints.get("operation"), found)
