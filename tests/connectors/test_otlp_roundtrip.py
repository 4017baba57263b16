"""Properties: encoding then decoding gives the same spans; no input crashes the decoders."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.otlp import (
    OtlpDecodeError,
    decode_otlp_json,
    decode_otlp_protobuf,
    encode_otlp_json,
    encode_otlp_protobuf,
)
from connectors.spans import Span, SpanEvent, SpanKind, SpanLink, StatusCode

hex_ids = lambda n: st.text("0123456789abcdef", min_size=n, max_size=n).filter(  # noqa: E731
    lambda s: s != "0" * n
)
scalars = (
    st.text(max_size=20)
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.binary(max_size=8)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
attributes = st.dictionaries(st.text(max_size=12), values, max_size=5)
resources = st.sampled_from(
    [{"service.name": "checkout"}, {"service.name": "cart", "service.version": "1.2"}]
)


@st.composite
def spans(draw: st.DrawFn) -> Span:
    start = draw(st.integers(min_value=1, max_value=2**62))
    return Span(
        trace_id=draw(hex_ids(32)),
        span_id=draw(hex_ids(16)),
        parent_span_id=draw(st.none() | hex_ids(16)),
        name=draw(st.text(max_size=30)),
        kind=draw(st.sampled_from(SpanKind)),
        start_unix_nano=start,
        end_unix_nano=start + draw(st.integers(min_value=0, max_value=10**12)),
        attributes=draw(attributes),
        resource=draw(resources),
        status_code=draw(st.sampled_from(StatusCode)),
        status_message=draw(st.text(max_size=10)),
        scope_name=draw(st.sampled_from(["", "io.opentelemetry.jdbc"])),
        scope_version=draw(st.sampled_from(["", "2.1"])),
        events=draw(
            st.lists(
                st.builds(SpanEvent, st.text(max_size=8), st.integers(0, 2**63), attributes),
                max_size=2,
            )
        ),
        links=draw(st.lists(st.builds(SpanLink, hex_ids(32), hex_ids(16), attributes), max_size=2)),
        trace_state=draw(st.sampled_from(["", "k=v"])),
    )


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spans(), min_size=1, max_size=5))
def test_json_round_trip_keeps_every_field(original: list[Span]) -> None:
    decoded = decode_otlp_json(encode_otlp_json(original))
    assert not decoded.rejected
    assert sorted(decoded.spans, key=_key) == sorted(original, key=_key)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spans(), min_size=1, max_size=5))
def test_protobuf_round_trip_keeps_every_field(original: list[Span]) -> None:
    decoded = decode_otlp_protobuf(encode_otlp_protobuf(original))
    assert not decoded.rejected
    assert sorted(decoded.spans, key=_key) == sorted(original, key=_key)


def _key(span: Span) -> tuple[str, str, int]:
    return (span.trace_id, span.span_id, span.start_unix_nano)


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_the_protobuf_decoder(data: bytes) -> None:
    try:
        decode_otlp_protobuf(data)
    except OtlpDecodeError:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=10,
)
otlp_keys = st.sampled_from(
    [
        "resourceSpans",
        "scopeSpans",
        "spans",
        "traceId",
        "spanId",
        "kind",
        "attributes",
        "value",
        "intValue",
        "status",
        "code",
        "events",
        "links",
        "startTimeUnixNano",
    ]
)


@st.composite
def otlp_like_documents(draw: st.DrawFn) -> bytes:
    """Documents with OTLP's keys and random values: the shapes a fuzzer would send."""
    node = draw(
        st.recursive(
            json_values,
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(otlp_keys, inner, max_size=4)
            ),
            max_leaves=15,
        )
    )
    return json.dumps({"resourceSpans": node}).encode()


@settings(max_examples=300)
@given(otlp_like_documents())
def test_otlp_shaped_garbage_never_crashes_the_json_decoder(data: bytes) -> None:
    try:
        decode_otlp_json(data)
    except OtlpDecodeError:
        pass
