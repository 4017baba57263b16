"""Messaging spans: system, operation and templated destination, and their matchers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.discovery.normalize.messaging import normalize_messaging
from app.discovery.operation import Family, MatchType
from app.sample import FaultName, faults_by_name
from connectors.spans import Span, SpanKind
from tests.app.discovery.conftest import assert_each_span_is_its_patterns_alone


def _span(attributes: dict, kind: SpanKind = SpanKind.PRODUCER, name: str = "send") -> Span:
    return Span(
        trace_id="0" * 32,
        span_id="1" * 16,
        parent_span_id=None,
        name=name,
        kind=kind,
        start_unix_nano=0,
        end_unix_nano=1,
        attributes=attributes,
    )


KAFKA_PUBLISH = {
    "messaging.system": "kafka",
    "messaging.destination.name": "orders.placed",
    "messaging.operation.type": "publish",
}


@pytest.mark.parametrize(
    ("attributes", "kind", "key", "fields"),
    [
        (
            {
                **KAFKA_PUBLISH,
                "messaging.kafka.message.key": "694349",
                "messaging.destination.partition.id": "5",
                "messaging.client.id": "checkout-rck675rpcs-6zmtz",
            },
            SpanKind.PRODUCER,
            "kafka publish orders.placed",
            ("messaging.system", "messaging.operation.type", "messaging.destination.name"),
        ),
        (  # legacy names (conventions up to 1.17)
            {
                "messaging.system": "kafka",
                "messaging.destination": "orders.placed",
                "messaging.destination_kind": "topic",
                "messaging.operation": "process",
                "messaging.kafka.consumer_group": "notification",
            },
            SpanKind.CONSUMER,
            "kafka process orders.placed",
            ("messaging.system", "messaging.operation", "messaging.destination"),
        ),
        (  # the operation type wins over the legacy operation carried alongside
            {
                "messaging.system": "kafka",
                "messaging.destination.name": "orders.placed",
                "messaging.operation": "publish",
                "messaging.operation.type": "send",
            },
            SpanKind.PRODUCER,
            "kafka send orders.placed",
            ("messaging.system", "messaging.operation.type", "messaging.destination.name"),
        ),
        (  # an old producer says no operation: its kind does, without a matcher
            {"messaging.system": "rabbitmq", "messaging.destination": "emails"},
            SpanKind.PRODUCER,
            "rabbitmq publish emails",
            ("messaging.system", "messaging.destination"),
        ),
        (
            {"messaging.system": "rabbitmq", "messaging.destination": "emails"},
            SpanKind.CONSUMER,
            "rabbitmq process emails",
            ("messaging.system", "messaging.destination"),
        ),
        (  # a per-user queue
            {
                "messaging.system": "rabbitmq",
                "messaging.destination.name": "notifications.user.4821",
                "messaging.operation.type": "receive",
            },
            SpanKind.CONSUMER,
            "rabbitmq receive notifications.user.{id}",
            ("messaging.system", "messaging.operation.type", "messaging.destination.name"),
        ),
        (  # the instrumentation's own template wins over the name
            {
                "messaging.system": "servicebus",
                "messaging.destination.name": "/customers/4821",
                "messaging.destination.template": "/customers/{customerId}",
                "messaging.operation.type": "settle",
                "messaging.operation.name": "complete",
            },
            SpanKind.CLIENT,
            "servicebus settle /customers/{customerId}",
            ("messaging.system", "messaging.operation.type", "messaging.destination.template"),
        ),
        (  # a temporary reply queue is named at random; the flag is the destination
            {
                "messaging.system": "rabbitmq",
                "messaging.destination.anonymous": True,
                "messaging.operation.type": "receive",
            },
            SpanKind.CONSUMER,
            "rabbitmq receive (anonymous)",
            ("messaging.system", "messaging.operation.type", "messaging.destination.anonymous"),
        ),
        (  # the 1.20 conventions named a consumer's source
            {"messaging.system": "jms", "messaging.source.name": "queue://billing"},
            SpanKind.CONSUMER,
            "jms process queue://billing",
            ("messaging.system", "messaging.source.name"),
        ),
        (
            {"messaging.system": "aws_sqs", "messaging.operation.type": "receive"},
            SpanKind.CONSUMER,
            "aws_sqs receive",
            ("messaging.system", "messaging.operation.type"),
        ),
        (  # neither kind nor attribute says what was done
            {"messaging.system": "kafka", "messaging.destination.name": "audit"},
            SpanKind.CLIENT,
            "kafka audit",
            ("messaging.system", "messaging.destination.name"),
        ),
    ],
)
def test_span_operation(
    attributes: dict, kind: SpanKind, key: str, fields: tuple[str, ...]
) -> None:
    span = _span(attributes, kind)
    operation = normalize_messaging(span)
    assert operation is not None
    assert operation.family is Family.MESSAGING
    assert operation.key == key
    assert tuple(m.field_name for m in operation.matchers) == fields
    assert all(m.matches(span) for m in operation.matchers)


@pytest.mark.parametrize(
    ("destination", "shown", "match_type"),
    [
        ("orders.placed", "orders.placed", MatchType.EXACT),
        ("notifications.user.4821", "notifications.user.{id}", MatchType.REGEX),
        ("tenant-4821.events", "tenant-{id}.events", MatchType.REGEX),
        ("orders-v2", "orders-v2", MatchType.EXACT),
        (  # an SQS queue URL: the account is an id
            "https://sqs.eu-west-1.amazonaws.com/123456789012/orders",
            "https://sqs.eu-west-{id}.amazonaws.com/{id}/orders",
            MatchType.REGEX,
        ),
        ("amq.gen-JzTY20BRgKO-HjmUJj0wLg", "amq.{id}", MatchType.REGEX),  # server-named queue
        ("replies.550e8400-e29b-41d4-a716-446655440000", "replies.{id}", MatchType.REGEX),
        (  # a long lower-case name is a name, not a token
            "customer-notification-requests",
            "customer-notification-requests",
            MatchType.EXACT,
        ),
    ],
)
def test_destination_ids_become_placeholders(
    destination: str, shown: str, match_type: MatchType
) -> None:
    span = _span({**KAFKA_PUBLISH, "messaging.destination.name": destination})
    operation = normalize_messaging(span)
    assert operation is not None
    assert operation.key == f"kafka publish {shown}"
    assert operation.matchers[-1].match_type is match_type
    assert operation.matchers[-1].matches(span)


def test_no_destination_is_matched_by_another_keys_pattern() -> None:
    destinations = [
        "orders.placed",
        "orders.placed.dlq",
        "orders",
        "notifications.user.4821",
        "notifications.user.77",
        "notifications.user.4821.retry",
        "notifications.team.4821",
        "notifications.user.",
        "tenant-4821.events",
        "tenant-x.events",
        "replies.550e8400-e29b-41d4-a716-446655440000",
    ]
    spans = [_span({**KAFKA_PUBLISH, "messaging.destination.name": d}) for d in destinations]
    assert_each_span_is_its_patterns_alone(normalize_messaging, spans)


def test_message_ids_and_partitions_never_split_an_operation() -> None:
    operations = {
        repr(
            normalize_messaging(
                _span(
                    {
                        **KAFKA_PUBLISH,
                        "messaging.kafka.message.key": str(key),
                        "messaging.message.id": f"m-{key}",
                        "messaging.destination.partition.id": str(key % 6),
                        "messaging.kafka.consumer.group": f"group-{key % 2}",
                    }
                )
            )
        )
        for key in range(20)
    }
    assert len(operations) == 1


def test_hints_name_system_operation_and_destination() -> None:
    operation = normalize_messaging(
        _span({**KAFKA_PUBLISH, "messaging.destination.name": "notifications.user.4821"})
    )
    assert operation is not None
    assert dict(operation.hints) == {
        "system": "kafka",
        "operation": "publish",
        "target": "notifications.user",
    }


def test_span_without_system_is_left_to_the_fallback() -> None:
    assert normalize_messaging(_span({"messaging.system": ""})) is None


# --- The sample shop ------------------------------------------------------------------------

ALL_FAULTS = faults_by_name([f.value for f in FaultName])


def _is_messaging(span: Span) -> bool:
    attributes = span.attributes
    has_db = attributes.get("db.system.name") or attributes.get("db.system")
    return not has_db and "messaging.system" in attributes


@pytest.mark.parametrize(
    ("seed", "faults"), [(1, ()), (42, ()), (42, ALL_FAULTS)], ids=["1", "42", "42 faults"]
)
def test_sample_messaging_spans_key_by_true_operation_and_matchers_keep_them_apart(
    seed: int, faults: tuple, check_family_on_sample: Callable[..., None]
) -> None:
    check_family_on_sample(_is_messaging, normalize_messaging, seed, faults)
