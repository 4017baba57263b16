"""OTLP/JSON and protobuf decoding: the specification's encoding, Tempo's, and bad input."""

from __future__ import annotations

import base64
import gzip
import json
import math
from pathlib import Path
from typing import Any

import pytest

from connectors.otlp import (
    BodyTooLarge,
    OtlpDecodeError,
    UnsupportedContentEncoding,
    UnsupportedContentType,
    decode_body,
    decode_otlp_json,
    decode_otlp_protobuf,
    decode_tempo_protobuf,
)
from connectors.spans import SpanKind, StatusCode

TEMPO = Path(__file__).parent.parent / "fixtures" / "tempo" / "2.10.8"
TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"


def otlp_span(**overrides: Any) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": TRACE_ID,
        "spanId": SPAN_ID,
        "name": "GET /orders/{id}",
        "kind": 2,
        "startTimeUnixNano": "1544712660000000000",
        "endTimeUnixNano": "1544712661000000000",
    }
    span.update(overrides)
    return span


def document(*spans: dict[str, Any], resource: list[Any] | None = None) -> bytes:
    return json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": resource
                        or [{"key": "service.name", "value": {"stringValue": "checkout"}}]
                    },
                    "scopeSpans": [
                        {"scope": {"name": "lib", "version": "1.0"}, "spans": list(spans)}
                    ],
                }
            ]
        }
    ).encode()


def test_specification_example_decodes_every_field() -> None:
    doc = document(
        otlp_span(
            parentSpanId="EEE19B7EC3C1B173",
            traceState="vendor=1",
            attributes=[{"key": "http.route", "value": {"stringValue": "/orders/{id}"}}],
            events=[
                {
                    "timeUnixNano": 1544712660500000000,
                    "name": "exception",
                    "attributes": [{"key": "exception.type", "value": {"stringValue": "E"}}],
                }
            ],
            links=[{"traceId": TRACE_ID, "spanId": "0000000000000001", "attributes": []}],
            status={"code": 2, "message": "boom"},
        )
    )
    (span,) = decode_otlp_json(doc).spans
    assert span.trace_id == TRACE_ID
    assert span.parent_span_id == "eee19b7ec3c1b173"  # upper-case hex is folded
    assert span.kind is SpanKind.SERVER
    assert span.duration_ns == 1_000_000_000
    assert span.status_code is StatusCode.ERROR and span.status_message == "boom"
    assert span.service_name == "checkout"
    assert (span.scope_name, span.scope_version, span.trace_state) == ("lib", "1.0", "vendor=1")
    assert span.events[0].name == "exception"
    assert span.events[0].time_unix_nano == 1544712660500000000
    assert span.events[0].attributes == {"exception.type": "E"}
    assert span.links[0].span_id == "0000000000000001"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"stringValue": "a"}, "a"),
        ({"boolValue": True}, True),
        ({"intValue": "9007199254740993"}, 9007199254740993),  # beyond float precision
        ({"intValue": 42}, 42),
        ({"doubleValue": 1.5}, 1.5),
        ({"doubleValue": 2}, 2.0),
        ({"doubleValue": "Infinity"}, math.inf),
        ({"bytesValue": base64.b64encode(b"\x00\x01").decode()}, b"\x00\x01"),
        ({"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "x"}]}}, [1, "x"]),
        (
            {"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": False}}]}},
            {"k": False},
        ),
        ({}, None),  # an empty AnyValue is allowed and means "no value"
    ],
)
def test_every_any_value_variant(value: dict[str, Any], expected: Any) -> None:
    (span,) = decode_otlp_json(document(otlp_span(attributes=[{"key": "a", "value": value}]))).spans
    assert span.attributes["a"] == expected
    assert type(span.attributes["a"]) is type(expected)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (3, SpanKind.CLIENT),
        ("SPAN_KIND_PRODUCER", SpanKind.PRODUCER),
        ("SPAN_KIND_UNSPECIFIED", SpanKind.UNSPECIFIED),
        (17, SpanKind.UNSPECIFIED),  # proto3 enums are open: unknown numbers are allowed
    ],
)
def test_span_kind_as_number_or_name(kind: Any, expected: SpanKind) -> None:
    (span,) = decode_otlp_json(document(otlp_span(kind=kind))).spans
    assert span.kind is expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({}, StatusCode.UNSET),  # Tempo writes an empty status for unset
        ({"code": "STATUS_CODE_ERROR", "message": "x"}, StatusCode.ERROR),
        ({"code": 1}, StatusCode.OK),
    ],
)
def test_status_forms(status: dict[str, Any], expected: StatusCode) -> None:
    (span,) = decode_otlp_json(document(otlp_span(status=status))).spans
    assert span.status_code is expected


def test_timestamps_as_numbers_or_strings() -> None:
    doc = document(
        otlp_span(startTimeUnixNano=1544712660000000000, endTimeUnixNano="1544712660000000001")
    )
    (span,) = decode_otlp_json(doc).spans
    assert span.duration_ns == 1


@pytest.mark.parametrize(
    ("name", "expected_spans", "trace_id"),
    [
        ("trace_v1_checkout_ok.json", 28, "c30f3c6921ffcf729b0fcaa7d56c478f"),
        ("trace_v2_checkout_ok.json", 28, "c30f3c6921ffcf729b0fcaa7d56c478f"),
        ("trace_v1_browse.json", 6, "08e3f771b6dcbd05da9bccc1e71c681a"),
        ("trace_v2_leading_zero.json", 10, "0b8b56f7ead44e111397a29f8d0df6f6"),
        ("trace_v2_notification.json", 5, "f659f1886676cc7566995af51d24181c"),
    ],
)
def test_tempo_json_with_base64_ids(name: str, expected_spans: int, trace_id: str) -> None:
    batch = decode_otlp_json((TEMPO / name).read_bytes())
    assert len(batch.spans) == expected_spans
    assert not batch.rejected
    assert {s.trace_id for s in batch.spans} == {trace_id}
    roots = [s for s in batch.spans if s.is_root]
    assert len(roots) == 1
    ids = {s.span_id for s in batch.spans}
    assert all(s.parent_span_id in ids for s in batch.spans if not s.is_root)


def test_tempo_error_trace_keeps_status_and_exception_events() -> None:
    batch = decode_otlp_json((TEMPO / "trace_v2_checkout_err.json").read_bytes())
    errors = [s for s in batch.spans if s.is_error]
    assert errors, "checkout_err holds error spans"
    root = next(s for s in batch.spans if s.is_root)
    assert root.is_error  # the manifest says this trace has an error root
    events = [e for s in batch.spans for e in s.events]
    assert any(e.name == "exception" and "exception.type" in e.attributes for e in events)


def test_tempo_consumer_root_keeps_its_link() -> None:
    batch = decode_otlp_json((TEMPO / "trace_v1_notification.json").read_bytes())
    root = next(s for s in batch.spans if s.is_root)
    assert root.kind is SpanKind.CONSUMER
    (link,) = root.links
    assert len(link.trace_id) == 32 and link.trace_id != root.trace_id
    assert link.attributes == {"messaging.operation": "publish"}


def test_tempo_v2_not_found_body_is_an_empty_batch() -> None:
    batch = decode_otlp_json((TEMPO / "err_trace_v2_not_found.json").read_bytes())
    assert batch.spans == [] and batch.rejected == []


@pytest.mark.parametrize("which", ["checkout_ok", "notification"])
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_tempo_protobuf_equals_its_json(which: str, version: str) -> None:
    from_pb = decode_tempo_protobuf(
        (TEMPO / f"trace_{version}_{which}_protobuf.pb").read_bytes(), v2=version == "v2"
    )
    from_json = decode_otlp_json((TEMPO / f"trace_{version}_{which}.json").read_bytes())

    def key(span: Any) -> str:
        return span.span_id

    assert sorted(from_pb.spans, key=key) == sorted(from_json.spans, key=key)


@pytest.mark.parametrize(
    ("body", "path", "reason_part"),
    [
        (b"{", "$", "not valid JSON"),
        (b"[]", "$", "Expected `object`"),
        (b"{}", "$", 'no "resourceSpans"'),
        (b'{"resourceSpans": {}}', "resourceSpans", "Expected `array"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": {}}]}]}]}',
            "resourceSpans[0].scopeSpans[0].spans[0].kind",
            "Expected",
        ),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": [{"key": "a", '
            b'"value": {"intValue": 1.5}}]}]}]}]}',
            "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue",
            "Expected",
        ),
    ],
)
def test_malformed_documents_say_what_and_where(body: bytes, path: str, reason_part: str) -> None:
    with pytest.raises(OtlpDecodeError) as caught:
        decode_otlp_json(body)
    assert caught.value.path == path
    assert reason_part in caught.value.reason


@pytest.mark.parametrize(
    ("bad_span", "where", "reason"),
    [
        (otlp_span(traceId="abc"), "traceId", "not 32 hex characters"),
        (otlp_span(traceId="z" * 32), "traceId", "not 32 hex characters"),
        (otlp_span(traceId="0" * 32), "traceId", "all zeros"),
        (otlp_span(spanId="0123"), "spanId", "not 16 hex characters"),
        (otlp_span(parentSpanId="xyz"), "parentSpanId", "not 16 hex"),
        (otlp_span(startTimeUnixNano="soon"), "startTimeUnixNano", "not an integer"),
        (otlp_span(startTimeUnixNano="0"), "startTimeUnixNano", "missing or zero"),
        (otlp_span(endTimeUnixNano="1"), "endTimeUnixNano", "before startTimeUnixNano"),
        (otlp_span(kind="SPAN_KIND_SIDEWAYS"), "kind", "unknown span kind"),
        (otlp_span(status={"code": 7}), "status.code", "unknown status code"),
        (otlp_span(links=[{"traceId": "1", "spanId": SPAN_ID}]), "links[0].traceId", "not 32 hex"),
        (
            otlp_span(attributes=[{"key": "n", "value": {"intValue": "many"}}]),
            "attributes[n]",
            "not an integer",
        ),
    ],
)
def test_a_bad_span_is_rejected_alone_and_good_spans_are_kept(
    bad_span: dict[str, Any], where: str, reason: str
) -> None:
    good = otlp_span(spanId="1111111111111111")
    batch = decode_otlp_json(document(good, otlp_span(spanId="2222222222222222"), bad_span))
    assert [s.span_id for s in batch.spans] == ["1111111111111111", "2222222222222222"]
    (rejected,) = batch.rejected
    assert rejected.path == f"resourceSpans[0].scopeSpans[0].spans[2].{where}"
    assert reason in rejected.reason
    assert "1 span(s) rejected" in batch.error_message()


def test_protobuf_bad_span_is_rejected_alone() -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    for span_id in (b"\x01" * 8, b"\x02" * 3):
        span = spans.add()
        span.trace_id = b"\x0a" * 16
        span.span_id = span_id
        span.start_time_unix_nano = 1
        span.end_time_unix_nano = 2
    batch = decode_otlp_protobuf(request.SerializeToString())
    assert [s.span_id for s in batch.spans] == ["0101010101010101"]
    assert (
        str(batch.rejected[0]) == "resourceSpans[0].scopeSpans[0].spans[1].spanId: 3 bytes, not 8"
    )


@pytest.mark.parametrize("garbage", [b"\xff\xff\xff", b"\x0a\x05ab", b"not protobuf at all"])
def test_garbage_protobuf_is_a_decode_error(garbage: bytes) -> None:
    with pytest.raises(OtlpDecodeError, match="not a valid OTLP protobuf message"):
        decode_otlp_protobuf(garbage)


def test_truncated_tempo_v2_protobuf_is_a_decode_error() -> None:
    data = (TEMPO / "trace_v2_notification_protobuf.pb").read_bytes()
    with pytest.raises(OtlpDecodeError):
        decode_tempo_protobuf(data[: len(data) // 2], v2=True)


def test_gzip_body_decodes() -> None:
    doc = document(otlp_span())
    batch = decode_body(gzip.compress(doc), "application/json; charset=utf-8", "gzip", 1 << 20)
    assert len(batch.spans) == 1


def test_gzip_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"{" + b" " * 50_000_000 + b"}")
    assert len(bomb) < 100_000
    with pytest.raises(BodyTooLarge):
        decode_body(bomb, "application/json", "gzip", 1 << 20)


@pytest.mark.parametrize(
    ("content_type", "encoding", "error"),
    [
        ("text/plain", None, UnsupportedContentType),
        ("application/json", "br", UnsupportedContentEncoding),
        ("application/json", "gzip", OtlpDecodeError),  # the body is not gzip
    ],
)
def test_body_errors(content_type: str, encoding: str | None, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_body(document(otlp_span()), content_type, encoding, 1 << 20)
