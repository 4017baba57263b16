"""``POST /api/discovery``: a Tempo window's patterns for the caller's tenant, in the background.

Tempo is the fake that answers from the generator's manifest in the recorded response
shapes (``tests/conftest.py``), as for ``spanwise discover``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient

from app.api.server import create_app
from app.auth.tokens import Role, TokenStore, auth_store_path
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings

TEMPO_URL = "http://tempo.test:3200"
WINDOW = {"start": "1795273800", "end": "1795274720"}


@pytest.fixture
def tempo(
    no_network: respx.MockRouter,
    fake_tempo: Callable[[list[dict[str, Any]]], Any],
    tempo_manifest: Callable[[str], list[dict[str, Any]]],
) -> Any:
    fake = fake_tempo(tempo_manifest("manifest_wave1_seed42.json"))
    fake.mount(no_network, TEMPO_URL)
    return fake


@pytest.fixture
def tokens(tmp_path: Path) -> dict[str, str]:
    store = TokenStore(auth_store_path(tmp_path))
    made = {
        "write": store.create("team-a", Role.WRITE)[1],
        "read": store.create("team-a", Role.READ)[1],
        "other": store.create("team-b", Role.WRITE)[1],
    }
    store.close()
    return made


def build(tmp_path: Path, **settings: Any) -> TestClient:
    summary = IngestSummary()
    options: dict[str, Any] = {
        "data_dir": tmp_path,
        "tempo_url": TEMPO_URL,
        "auth_required": True,
        **settings,
    }
    return TestClient(create_app(Settings(**options), SpanPipeline([summary]), summary))


@pytest.fixture
def client(tmp_path: Path, tempo: Any) -> Iterator[TestClient]:
    with build(tmp_path) as served:
        yield served


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def finished(client: TestClient, run_id: str, token: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get(f"/api/discovery/{run_id}", headers=auth(token)).json()
        if status["status"] != "running":
            return dict(status)
        time.sleep(0.05)
    raise AssertionError("the run did not finish in 60 s")


def test_a_run_discovers_and_classifies_the_window_for_the_callers_tenant(
    client: TestClient, tokens: dict[str, str], tempo: Any
) -> None:
    started = client.post("/api/discovery", json=WINDOW, headers=auth(tokens["write"]))
    assert started.status_code == 202, started.text
    status = finished(client, started.json()["run_id"], tokens["write"])
    assert status["status"] == "done", status
    fetched = sum(tempo.fetches.values())
    assert fetched and status["spans"] == fetched * tempo.TEMPLATE_SPANS
    assert status["patterns"] > 0 and status["classified"] == status["patterns"]

    mine = client.get("/api/patterns", headers=auth(tokens["read"])).json()
    assert len(mine) == status["patterns"] and all(row["verdict"] for row in mine)
    assert client.get("/api/patterns", headers=auth(tokens["other"])).json() == []
    other = client.get(f"/api/discovery/{status['run_id']}", headers=auth(tokens["other"]))
    assert other.status_code == 404


def test_only_write_tokens_start_runs_and_the_rate_is_limited(
    tmp_path: Path, tempo: Any, tokens: dict[str, str]
) -> None:
    with build(tmp_path, discovery_runs_per_hour=1) as client:
        assert (
            client.post("/api/discovery", json=WINDOW, headers=auth(tokens["read"])).status_code
            == 403
        )
        first = client.post("/api/discovery", json=WINDOW, headers=auth(tokens["write"]))
        assert first.status_code == 202
        again = client.post("/api/discovery", json=WINDOW, headers=auth(tokens["write"]))
        assert again.status_code == 429 and int(again.headers["retry-after"]) > 60
        finished(client, first.json()["run_id"], tokens["write"])


def test_bad_windows_and_a_missing_tempo_say_what_to_do(
    tmp_path: Path, tokens: dict[str, str]
) -> None:
    with build(tmp_path) as client:
        bad = client.post("/api/discovery", json={"since": "soon"}, headers=auth(tokens["write"]))
        assert bad.status_code == 400
        none = client.post("/api/discovery", json={}, headers=auth(tokens["write"]))
        assert none.status_code == 400 and "since" in none.json()["detail"]
    with build(tmp_path, tempo_url=None) as client:
        answer = client.post("/api/discovery", json=WINDOW, headers=auth(tokens["write"]))
        assert answer.status_code == 409 and "SPANWISE_TEMPO_URL" in answer.json()["detail"]


def test_a_failing_tempo_fails_the_run_not_the_server(
    tmp_path: Path, no_network: respx.MockRouter, tokens: dict[str, str]
) -> None:
    no_network.get(f"{TEMPO_URL}/api/search").respond(400, text="parse error at line 1, col 3")
    with build(tmp_path) as client:
        started = client.post(
            "/api/discovery", json={**WINDOW, "query": "{ .x = }"}, headers=auth(tokens["write"])
        )
        status = finished(client, started.json()["run_id"], tokens["write"])
        assert status["status"] == "failed" and "parse error" in status["error"]
        assert client.get("/healthz").status_code == 200
