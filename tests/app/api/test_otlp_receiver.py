"""The OTLP/HTTP receiver, driven through FastAPI's real request handling."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from app.api.server import create_app
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings
from connectors.otlp import decode_otlp_json, encode_otlp_json, encode_otlp_protobuf

TEMPO = Path(__file__).parents[2] / "fixtures" / "tempo" / "2.10.8"
LIMIT = 64 * 1024


class Recorder:
    def __init__(self) -> None:
        self.spans: list = []

    def accept(self, spans) -> None:  # type: ignore[no-untyped-def]
        self.spans.extend(spans)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(recorder: Recorder, tmp_path: Path) -> Iterator[TestClient]:
    summary = IngestSummary()
    pipeline = SpanPipeline([recorder, summary])
    app = create_app(Settings(data_dir=tmp_path, max_request_bytes=LIMIT), pipeline, summary)
    with TestClient(app) as test_client:
        yield test_client


def checkout_spans() -> list:
    return decode_otlp_json((TEMPO / "trace_v2_checkout_ok.json").read_bytes()).spans


def test_json_body_is_accepted_and_reaches_the_pipeline(
    client: TestClient, recorder: Recorder
) -> None:
    spans = checkout_spans()
    answer = client.post(
        "/v1/traces", content=encode_otlp_json(spans), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {}
    assert sorted(s.span_id for s in recorder.spans) == sorted(s.span_id for s in spans)


def test_gzip_protobuf_body_gets_a_protobuf_answer(client: TestClient, recorder: Recorder) -> None:
    spans = checkout_spans()
    answer = client.post(
        "/v1/traces",
        content=gzip.compress(encode_otlp_protobuf(spans)),
        headers={"content-type": "application/x-protobuf", "content-encoding": "gzip"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-protobuf"
    parsed = ExportTraceServiceResponse.FromString(answer.content)
    assert not parsed.HasField("partial_success")
    assert len(recorder.spans) == 28


def test_summary_counts_what_arrived(client: TestClient) -> None:
    client.post(
        "/v1/traces",
        content=encode_otlp_json(checkout_spans()),
        headers={"content-type": "application/json"},
    )
    summary = client.get("/api/ingest/summary").json()
    assert summary["spans"] == 28 and summary["traces"] == 1
    assert {s["service"] for s in summary["services"]} >= {"frontend", "checkout"}


def test_partly_bad_batch_keeps_good_spans_and_reports_partial_success(
    client: TestClient, recorder: Recorder
) -> None:
    document = json.loads(encode_otlp_json(checkout_spans()))
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "nope"
    answer = client.post("/v1/traces", json=document)
    assert answer.status_code == 200
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "resourceSpans[0].scopeSpans[0].spans[0].traceId: not 32 hex" in partial["errorMessage"]
    assert len(recorder.spans) == 27


def test_batch_with_only_bad_spans_is_a_400(client: TestClient, recorder: Recorder) -> None:
    document = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "x", "spanId": "y"}]}]}]}
    answer = client.post("/v1/traces", json=document)
    assert answer.status_code == 400
    assert answer.json()["code"] == 3
    assert "traceId" in answer.json()["message"]
    assert recorder.spans == []


@pytest.mark.parametrize(
    ("body", "headers", "status", "message_part"),
    [
        (b"{not json", {"content-type": "application/json"}, 400, "not valid JSON"),
        (b'{"resourceSpans": 5}', {"content-type": "application/json"}, 400, "resourceSpans"),
        (b"\xff\xfe\xfd", {"content-type": "application/x-protobuf"}, 400, "protobuf"),
        (b"{}", {"content-type": "text/plain"}, 415, "not OTLP"),
        (b"{}", {"content-type": "application/json", "content-encoding": "zstd"}, 415, "gzip"),
        (b"x" * (LIMIT + 1), {"content-type": "application/json"}, 413, "over"),
        (
            gzip.compress(b" " * (LIMIT * 20)),
            {"content-type": "application/json", "content-encoding": "gzip"},
            413,
            "limit",
        ),
    ],
)
def test_bad_requests_get_a_clear_4xx(
    client: TestClient, body: bytes, headers: dict[str, str], status: int, message_part: str
) -> None:
    answer = client.post("/v1/traces", content=body, headers=headers)
    assert answer.status_code == status
    assert message_part in answer.content.decode(errors="replace")


def test_protobuf_errors_are_google_rpc_status_in_protobuf(client: TestClient) -> None:
    answer = client.post(
        "/v1/traces", content=b"\xff\xfe", headers={"content-type": "application/x-protobuf"}
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/x-protobuf"
    assert answer.content[:2] == b"\x08\x03"  # field 1 (code) = 3, INVALID_ARGUMENT
    assert b"not a valid OTLP protobuf message" in answer.content


def test_chunked_body_over_the_limit_is_cut_off(client: TestClient) -> None:
    sent = 0

    def endless() -> Iterator[bytes]:
        nonlocal sent
        while sent < LIMIT * 10:
            sent += 4096
            yield b" " * 4096

    answer = client.post(
        "/v1/traces", content=endless(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from(
        ["application/json", "application/x-protobuf", "application/protobuf"]
    ),
)
def test_fuzzed_bodies_get_4xx_or_200_and_the_server_keeps_serving(
    client: TestClient, body: bytes, content_type: str
) -> None:
    answer = client.post("/v1/traces", content=body, headers={"content-type": content_type})
    assert answer.status_code in (200, 400)
    assert client.get("/api/ingest/summary").status_code == 200


def test_an_empty_request_is_valid_otlp(client: TestClient, recorder: Recorder) -> None:
    # proto3's JSON of an ExportTraceServiceRequest with no spans is "{}".
    for body in (b"{}", b" { } ", gzip.compress(b"{}")):
        headers = {"content-type": "application/json"}
        if body.startswith(b"\x1f\x8b"):
            headers["content-encoding"] = "gzip"
        answer = client.post("/v1/traces", content=body, headers=headers)
        assert answer.status_code == 200 and answer.json() == {}
    assert recorder.spans == []
    bad = client.post(
        "/v1/traces", content=b'{"nope": 1}', headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400
