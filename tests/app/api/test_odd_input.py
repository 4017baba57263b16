"""Odd input gets a clear 4xx and loses nothing: values nested too deep, text UTF-8 cannot
hold, spans that cannot have lasted as long as they say; and a fuzz of both keeps 500s at 0."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api.server import create_app
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings
from connectors.otlp.json_encode import encode_otlp_json
from connectors.spans import Span, SpanKind

JSON = {"content-type": "application/json"}
START = 1_795_274_000_000_000_000


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, IngestSummary]]:
    summary = IngestSummary()
    settings = Settings(data_dir=tmp_path_factory.mktemp("odd"))
    app = create_app(settings, SpanPipeline([summary]), summary)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, summary


def _nested(depth: int) -> str:
    value = '{"stringValue":"x"}'
    for _ in range(depth):
        value = '{"arrayValue":{"values":[' + value + "]}}"
    return (
        '{"resourceSpans":[{"resource":{"attributes":[{"key":"a","value":'
        + value
        + '}]},"scopeSpans":[]}]}'
    )


def test_a_value_nested_too_deep_is_a_400_and_one_log_line(
    served: tuple[TestClient, IngestSummary], caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = served
    with caplog.at_level(logging.WARNING):
        answer = client.post("/v1/traces", content=_nested(350), headers=JSON)
    assert answer.status_code == 400
    assert "nested too deep" in answer.json()["message"]
    assert not [r for r in caplog.records if r.exc_info]  # no traceback in the log
    assert client.post("/v1/traces", content=_nested(20), headers=JSON).status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/chat", {"question": "\ud800 why is it slow?"}),
        ("/api/chat/stream", {"question": "errors? \udfff"}),
        ("/api/patterns/anything/corrections", {"field": "description", "value": "\ud800"}),
    ],
)
def test_text_utf8_cannot_hold_is_a_422(
    served: tuple[TestClient, IngestSummary], path: str, body: dict[str, str]
) -> None:
    client, _ = served
    answer = client.post(path, content=json.dumps(body), headers=JSON)  # "\ud800" escaped
    assert answer.status_code == 422, answer.text
    assert "cannot be encoded" in answer.json()["detail"]
    assert client.get("/api/status").status_code == 200  # and it keeps serving


def _span(start: int, end: int, span_id: str = "eee19b7ec3c1b174") -> Span:
    return Span(
        "5b8efff798038103d269b633813fc60c",
        span_id,
        None,
        "GET /odd",
        SpanKind.SERVER,
        start,
        end,
        resource={"service.name": "odd-clock"},
    )


def test_a_span_lasting_centuries_is_rejected_with_its_path_and_reason(
    served: tuple[TestClient, IngestSummary],
) -> None:
    client, summary = served
    body = encode_otlp_json(
        [_span(START, 2**63 - 1), _span(START, START + 5_000_000, "aaa19b7ec3c1b174")]
    )
    answer = client.post("/v1/traces", content=body, headers=JSON)
    assert answer.status_code == 200, answer.text
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "spans[0].endTimeUnixNano" in partial["errorMessage"]
    assert "over the 24 h a span may last" in partial["errorMessage"]
    odd = summary.as_dict()["services"]
    kept = next(s for s in odd if s["service"] == "odd-clock")
    assert kept["spans"] == 1 and kept["p99_ms"] < 10


_ODD_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates
        st.characters(),
    ),
    max_size=20,
)
_ODD_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.one_of(_ODD_TEXT, st.integers(), st.none(), st.booleans()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_ODD_TEXT, inner, max_size=3),
    max_leaves=30,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_ODD_VALUES, depth=st.integers(min_value=0, max_value=600))
def test_a_fuzz_of_odd_text_and_deep_nesting_never_gets_a_500(
    served: tuple[TestClient, IngestSummary], value: Any, depth: int
) -> None:
    client, _ = served
    odd = json.dumps(value)  # surrogates escaped as \\udxxx
    for path, body in (
        ("/v1/traces", _nested(depth)),
        ("/v1/traces", '{"resourceSpans":' + odd + "}"),
        ("/api/chat", '{"question":' + (odd if isinstance(value, str) and value else '"x"') + "}"),
        ("/api/chat", odd),
        ("/api/patterns/x/corrections", '{"field":"description","value":' + odd + "}"),
    ):
        answer = client.post(path, content=body, headers=JSON)
        assert answer.status_code < 500, (path, body[:200], answer.text[:200])
