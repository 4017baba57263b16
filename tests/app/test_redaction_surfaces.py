"""One table of secrets seeded into span data, against every surface that shows span data:
the API, the pages, the CLI's JSON, chat answers and a model's request. None may show."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.api.server import create_app
from app.chat.model_answer import answerer_from_settings
from app.chat.service import ChatService
from app.classify.run import classify_patterns, live_patterns
from app.cli.main import cli
from app.discovery.normalize import normalize
from app.discovery.run import DiscoveryRun
from app.discovery.store import PatternStore
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings
from connectors.spans import Span, SpanKind, StatusCode
from tests.openai_replies import chat_completion

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
SEEDED = {
    # attribute (with a name that says nothing of secrets): value, the secret in it
    "app.note": ("charged with sk-live-4eC39HqLyjWDarjtT1zdp7dc today", "4eC39HqLyjWDarjtT1zdp7dc"),
    "db.connection_string": (
        "Server=db;User Id=app;password=P4ssw0rd!;Database=orders",
        "P4ssw0rd!",
    ),
    "app.env": (
        "aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMIK7MDENG",
    ),
    "app.config": ('{"api_key": "k3y-0f-th3-c0nfig", "region": "eu"}', "k3y-0f-th3-c0nfig"),
    "app.openai": ("using sk-proj-Zq81bXkC0r9vPq2LmN4sT7uW", "Zq81bXkC0r9vPq2LmN4sT7uW"),
    "app.cert": (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1L\n-----END RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEAu1SU1L",
    ),
    "url.full": ("https://api.example.com/v1/x?access_token=t0k3nV4lu3xyz", "t0k3nV4lu3xyz"),
}
STATUS_SECRET = f"upstream refused Authorization: Bearer {JWT}"
SECRETS = [secret for _, secret in SEEDED.values()] + [JWT, JWT.split(".")[2]]
BASE = "http://model.test/v1"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("secrets")
    store = PatternStore(data_dir / "patterns.sqlite")
    run = DiscoveryRun(store, normalize)
    spans = []
    for number in range(40):
        start = 1_795_274_000_000_000_000 + number * 1_000_000_000
        spans.append(
            Span(
                f"{number + 1:032x}",
                f"{number + 1:016x}",
                None,
                "POST /v1/vault",
                SpanKind.SERVER,
                start,
                start + (number % 7 + 1) * 3_000_000,
                {
                    "http.request.method": "POST",
                    "http.route": "/v1/vault",
                    **{name: value for name, (value, _) in SEEDED.items()},
                },
                {"service.name": "vault"},
                StatusCode.ERROR if number % 3 == 0 else StatusCode.UNSET,
                STATUS_SECRET if number % 3 == 0 else "",
            )
        )
    run.accept(spans)
    run.finish()
    classify_patterns(store)
    store.close()
    return data_dir


def _leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def _pattern(data_dir: Path) -> str:
    store = PatternStore(data_dir / "patterns.sqlite")
    try:
        return next(p.name for p in live_patterns(store.load()) if p.service == "vault")
    finally:
        store.close()


def test_the_api_and_the_pages_show_no_seeded_secret(data_dir: Path) -> None:
    name = _pattern(data_dir)
    summary = IngestSummary()
    app = create_app(Settings(data_dir=data_dir), SpanPipeline([summary]), summary)
    with TestClient(app) as client:
        detail = client.get(f"/api/patterns/{name}")
        assert detail.status_code == 200
        trace_id = detail.json()["samples"]["typical"][0]["trace_id"]
        surfaces = {
            "api pattern": detail.text,
            "api trace": client.get(f"/api/traces/{trace_id}").text,
            "pattern page": client.get(f"/patterns/{name}").text,
            "trace page": client.get(f"/traces/{trace_id}").text,
            "api chat": client.post("/api/chat", json={"question": f"@{name} errors?"}).text,
        }
    assert "[REDACTED]" in surfaces["api pattern"]  # the values are there, redacted
    assert {surface: _leaked(text) for surface, text in surfaces.items() if _leaked(text)} == {}


def test_the_cli_json_shows_no_seeded_secret(data_dir: Path) -> None:
    name = _pattern(data_dir)
    shown = CliRunner().invoke(
        cli, ["--data-dir", str(data_dir), "patterns", "show", name, "--json"]
    )
    assert shown.exit_code == 0, shown.output
    assert _leaked(shown.output) == []


def test_a_models_request_holds_no_seeded_secret(
    data_dir: Path, no_network: respx.MockRouter
) -> None:
    name = _pattern(data_dir)
    route = no_network.post(f"{BASE}/chat/completions").mock(
        return_value=chat_completion("It fails with 401.")
    )
    settings = Settings(data_dir=data_dir, openai_api_key="sk-test", model_base_url=BASE)
    store = PatternStore(data_dir / "patterns.sqlite")
    answer = ChatService(store, answerer=answerer_from_settings(settings)).ask(
        f"@{name} why does it fail? show me its samples and attributes"
    )
    store.close()
    assert answer.mode == "model"
    sent = [call.request.content.decode() for call in route.calls]
    assert sent and all(_leaked(body) == [] for body in sent)
    assert _leaked(json.dumps(answer.as_dict())) == []
    assert isinstance(route.calls.last.response, httpx.Response)
