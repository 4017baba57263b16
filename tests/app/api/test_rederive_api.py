"""``POST /api/patterns/{name}/split`` and ``/merge``, on a real store, through FastAPI."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.server import create_app
from app.classify.run import classify_patterns
from app.discovery.normalize import normalize
from app.discovery.run import (
    DiscoveryRun,
    discover_sample,
    file_batches,
    files_source,
    pattern_store_path,
)
from app.discovery.store import PatternStore
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings
from connectors.otlp import encode_otlp_json
from connectors.spans import Span, SpanKind

STATIC = "http_server_frontend_get_static"
"""Answers 200 and 304: a split by status code makes two patterns of it."""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rederive") / "patterns.sqlite"
    store = PatternStore(path)
    discover_sample(store, 6, 300)
    classify_patterns(store)
    store.close()
    return path


@pytest.fixture
def data_dir(template: Path, tmp_path: Path) -> Path:
    shutil.copy(template, pattern_store_path(tmp_path))
    return tmp_path


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient]:
    summary = IngestSummary()
    with TestClient(create_app(Settings(data_dir=data_dir), SpanPipeline([summary]), summary)) as c:
        yield c


def rows(client: TestClient) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in client.get("/api/patterns").json()}


def test_a_split_makes_a_pattern_per_value_from_the_replayed_run(
    client: TestClient, data_dir: Path
) -> None:
    before = rows(client)[STATIC]
    answer = client.post(
        f"/api/patterns/{STATIC}/split", json={"by": "http.response.status_code", "author": "ana"}
    )
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert (
        result["override"]
        == "split frontend server `GET /static/{asset}` by http.response.status_code"
    )
    assert result["author"] == "ana"
    assert result["replayed"] == ["the sample system (seed 6, 300 traces)"]
    assert result["not_replayed"] == []
    made = {row["name"]: row for row in result["patterns"]}
    assert len(made) == 2 and sum(row["count"] for row in made.values()) == before["count"]
    assert result["retired"] == [STATIC]  # every span had a status code: none is left
    listed = rows(client)
    assert STATIC not in listed and made.keys() <= listed.keys()
    stored = PatternStore(pattern_store_path(data_dir)).overrides()
    assert [o.author for o in stored] == ["ana"]  # kept for later discovery runs
    # The pattern's old names (its provisional discovery name among them) still mean it:
    # no new pattern of the split may take one.
    old_names = client.get(f"/api/patterns/{STATIC}").json()["aliases"]
    assert old_names and not set(old_names) & made.keys()
    for old in old_names:
        assert client.get(f"/api/patterns/{old}").json()["name"] == STATIC


def test_a_merge_adds_the_statistics_and_the_old_name_resolves(client: TestClient) -> None:
    listed = rows(client)
    source, target = "redis_cache_del_cart_user", "redis_cache_expire_cart_user"
    answer = client.post(f"/api/patterns/{source}/merge", json={"into": target})
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert [row["name"] for row in result["patterns"]] == [target]
    assert result["patterns"][0]["count"] == listed[source]["count"] + listed[target]["count"]
    assert result["retired"] == [source] and result["author"] == "api"
    shown = client.get(f"/api/patterns/{source}").json()
    assert shown["name"] == target and shown["stats"]["count"] == result["patterns"][0]["count"]
    assert source not in rows(client)


def test_names_may_be_old_names(client: TestClient) -> None:
    renamed = client.post(
        "/api/patterns/redis_cache_del_cart_user/corrections",
        json={"field": "name", "value": "redis_cart_forget"},
    )
    assert renamed.status_code == 201
    answer = client.post(
        "/api/patterns/redis_cache_del_cart_user/merge",
        json={"into": "redis_cache_expire_cart_user"},
    )
    assert answer.status_code == 201 and answer.json()["retired"] == ["redis_cart_forget"]


@pytest.mark.parametrize(
    ("url", "body", "status", "says"),
    [
        (f"/api/patterns/{STATIC}x/split", {"by": "http.response.status_code"}, 404, STATIC),
        (
            f"/api/patterns/{STATIC}/split",
            {"by": "http.request.method"},
            400,
            "already has one value of http.request.method",
        ),
        (f"/api/patterns/{STATIC}/split", {"by": "   "}, 400, "name the attribute"),
        (f"/api/patterns/{STATIC}/split", {}, 422, "by"),
        (f"/api/patterns/{STATIC}/split", {"by": "a", "extra": 1}, 422, "extra"),
        (
            "/api/patterns/redis_cache_del_cart_user/merge",
            {"into": "redis_cache_del_cart_user"},
            400,
            "other than the one merged into",
        ),
        (
            "/api/patterns/redis_cache_del_cart_user/merge",
            {"into": "http_server_cart_get_cart"},
            400,
            "only patterns of one service and span kind can merge",
        ),
        (
            "/api/patterns/redis_cache_del_cart_user/merge",
            {"into": "nope_nothing"},
            404,
            "no pattern named",
        ),
    ],
)
def test_what_cannot_apply_is_refused_and_changes_nothing(
    client: TestClient, url: str, body: dict[str, Any], status: int, says: str
) -> None:
    before = rows(client)
    answer = client.post(url, json=body)
    assert answer.status_code == status, answer.text
    assert says in str(answer.json()["detail"])
    assert rows(client) == before


def test_splitting_twice_by_the_same_attribute_is_refused(client: TestClient) -> None:
    body = {"by": "http.response.status_code"}
    assert client.post(f"/api/patterns/{STATIC}/split", json=body).status_code == 201
    again = client.post(f"/api/patterns/{STATIC}/split", json=body)
    assert again.status_code == 400 and "already split by" in again.json()["detail"]


def test_a_split_into_no_part_is_refused_and_changes_nothing(client: TestClient) -> None:
    # The cart service writes the older http.status_code: none of its spans has the other.
    before = rows(client)
    body = {"by": "http.response.status_code"}
    answer = client.post("/api/patterns/http_server_cart_post_cart_items/split", json=body)
    assert answer.status_code == 400
    assert "spans has http.response.status_code: nothing to split" in answer.json()["detail"]
    assert rows(client) == before


def test_a_learned_placeholder_made_literal_through_the_api(tmp_path: Path) -> None:
    words = ["daily", "weekly", "monthly", "yearly", "quarterly", "hourly", "adhoc", "audit"]
    reports = [f"{a}-{b}-{c}" for a in words for b in words for c in ("sum", "detail")][:100]
    spans = [
        Span(
            trace_id=f"{n:032x}",
            span_id=f"{n:016x}",
            parent_span_id=None,
            name="GET",
            kind=SpanKind.CLIENT,
            start_unix_nano=1_795_000_000_000_000_000 + n * 1_000_000,
            end_unix_nano=1_795_000_000_000_000_000 + n * 1_000_000 + 5_000_000,
            attributes={"http.request.method": "GET", "url.full": f"http://api/reports/{r}"},
            resource={"service.name": "finance"},
        )
        for n, r in enumerate(reports, 1)
    ]
    spans_file = tmp_path / "spans.jsonl"
    spans_file.write_bytes(encode_otlp_json(spans) + b"\n")
    store = PatternStore(pattern_store_path(tmp_path))
    run = DiscoveryRun(store, normalize, source=files_source([spans_file]))
    for batch in file_batches([spans_file], lambda problem: None):
        run.accept(batch)
    run.finish()
    classify_patterns(store)
    summary = IngestSummary()
    app = create_app(Settings(data_dir=tmp_path), SpanPipeline([summary]), summary)
    with TestClient(app) as client:
        (learned,) = rows(client).values()
        assert learned["operation"] == "GET api /reports/{report_id}"
        answer = client.post(
            f"/api/patterns/{learned['name']}/literal",
            json={"placeholder": "{report_id}", "author": "ana"},
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["override"].startswith("keep {report_id} of finance client")
        assert len(rows(client)) == 100
        again = client.post(
            f"/api/patterns/{learned['name']}/literal", json={"placeholder": "report_id"}
        )
        assert again.status_code == 400 and "has no {report_id}" in again.json()["detail"]
