"""Shared test setup: no test reaches the network, and Tempo's recorded answers replay."""

from __future__ import annotations

import asyncio
import base64
import bisect
import json
import os
import re
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import msgspec
import pytest
import respx
from hypothesis import settings as hypothesis_settings

# CI runs the property tests with a fixed derandomized search so that a red build always
# reproduces; local runs keep exploring new examples each time.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

# FastAPI's TestClient sends "Host: testserver"; served open on loopback, Spanwise answers
# only to loopback names and the ones configured (a guard against DNS rebinding).
os.environ.setdefault("SPANWISE_ALLOWED_HOSTS", '["testserver"]')

if TYPE_CHECKING:
    from connectors.tempo import TempoClient

TEMPO_FIXTURES = Path(__file__).parent / "fixtures" / "tempo" / "2.10.8"
TEMPO_URL = "http://tempo.test:3200"


@pytest.fixture(autouse=True)
def no_network() -> Iterator[respx.MockRouter]:
    """Fail any httpx request that no test mocked (respx raises AllMockedAssertionError).

    respx asks every active router in turn and only fails when none matched, so a test's own
    ``respx.mock(...)`` routes still answer while this guard is active.
    """
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as guard:
        yield guard


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _load_index() -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    for prefix, index in (("", TEMPO_FIXTURES), ("multitenancy/", TEMPO_FIXTURES / "multitenancy")):
        for entry in json.loads((index / "index.json").read_text()):
            entries[prefix + entry["file"]] = entry
    return entries


_INDEX = _load_index()


@pytest.fixture
def tempo_entry() -> Callable[[str], dict[str, Any]]:
    """The index.json entry of a recorded file: method, path, request_headers, status, ..."""

    def entry(name: str) -> dict[str, Any]:
        return _INDEX[name]

    return entry


@pytest.fixture
def tempo_body() -> Callable[[str], bytes]:
    def body(name: str) -> bytes:
        return (TEMPO_FIXTURES / name).read_bytes()

    return body


@pytest.fixture
def recorded() -> Callable[[str], httpx.Response]:
    """Tempo's recorded answer, byte for byte: status, Content-Type (if any) and body."""

    def response(name: str) -> httpx.Response:
        entry = _INDEX[name]
        headers = {"Content-Type": entry["content_type"]} if entry["content_type"] else {}
        content = (TEMPO_FIXTURES / name).read_bytes()
        assert len(content) == entry["bytes"], f"{name} differs from its recording"
        return httpx.Response(entry["status"], headers=headers, content=content)

    return response


@pytest.fixture
def tempo_fixtures_dir() -> Path:
    return TEMPO_FIXTURES


class FakeTempo:
    """A Tempo that searches a generator manifest the way Tempo 2.10.8 answers searches.

    ``/api/search`` returns the traces overlapping ``[start, end]`` in the recorded
    ``search_all.json`` entry shape, ids without their leading zeros; when more than ``limit``
    match it keeps the ``limit`` lowest trace ids (what 2.10.8 did for ``search_all``), newest
    first. ``/api/v2/traces/<id>`` answers with the recorded ``trace_v2_browse.json``, its
    trace id replaced by the requested one. It counts every search and fetch, and the most
    fetches it served at the same time.
    """

    TEMPLATE_TRACE_ID = "08e3f771b6dcbd05da9bccc1e71c681a"
    TEMPLATE_SPANS = 6

    def __init__(self, traces: list[dict[str, Any]]) -> None:
        search_all = json.loads((TEMPO_FIXTURES / "search_all.json").read_bytes())
        self._entry = search_all["traces"][0]
        self._metrics = search_all["metrics"]
        template = (TEMPO_FIXTURES / "trace_v2_browse.json").read_bytes()
        self._trace_body_parts = template.split(_b64_id(self.TEMPLATE_TRACE_ID))
        self._not_found_body = (TEMPO_FIXTURES / "err_trace_v2_not_found.json").read_bytes()
        self.traces = sorted(traces, key=lambda t: int(t["start_unix_nano"]))
        self._starts_ns = [int(t["start_unix_nano"]) for t in self.traces]
        self._ends_ns = [
            start + int(t["duration_ms"] * 10**6)
            for start, t in zip(self._starts_ns, self.traces, strict=True)
        ]
        self._longest_ns = max(
            end - start for start, end in zip(self._starts_ns, self._ends_ns, strict=True)
        )
        self.searches: list[tuple[int, int, int]] = []
        self.answers: list[list[str]] = []
        """The trace ids each search returned, in the order of ``searches``."""
        self.fetches: Counter[str] = Counter()
        self.vanished: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0

    def mount(self, router: respx.MockRouter, base_url: str) -> None:
        router.get(f"{base_url}/api/search").mock(side_effect=self.search)
        router.get(url__regex=rf"^{base_url}/api/v2/traces/(?P<trace_id>[0-9a-f]+)$").mock(
            side_effect=self.trace
        )

    def overlapping(self, start_s: int, end_s: int) -> list[dict[str, Any]]:
        """The traces whose span of time meets ``[start_s, end_s]``, lowest trace id first."""
        lower = bisect.bisect_left(self._starts_ns, start_s * 10**9 - self._longest_ns)
        upper = bisect.bisect_right(self._starts_ns, end_s * 10**9)
        found = [self.traces[i] for i in range(lower, upper) if self._ends_ns[i] >= start_s * 10**9]
        return sorted(found, key=lambda t: t["trace_id"])

    def search(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        start_s, end_s, limit = int(params["start"]), int(params["end"]), int(params["limit"])
        assert params["q"], "a search without TraceQL"
        assert start_s < end_s <= start_s + 168 * 3600, f"Tempo refuses [{start_s}, {end_s}]"
        self.searches.append((start_s, end_s, limit))
        kept = self.overlapping(start_s, end_s)[:limit]
        self.answers.append([t["trace_id"] for t in kept])
        kept.sort(key=lambda t: int(t["start_unix_nano"]), reverse=True)
        body = {"traces": [self._summary(t) for t in kept], "metrics": self._metrics}
        return httpx.Response(
            200, content=msgspec.json.encode(body), headers={"Content-Type": "application/json"}
        )

    def _summary(self, trace: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._entry,
            "traceID": trace["trace_id"].lstrip("0"),
            "rootServiceName": trace["root_service"],
            "rootTraceName": trace["root_name"],
            "startTimeUnixNano": trace["start_unix_nano"],
            "durationMs": int(trace["duration_ms"]),
        }

    async def trace(self, request: httpx.Request, trace_id: str) -> httpx.Response:
        assert len(trace_id) == 32, f"by-id request for an unpadded id {trace_id}"
        self.fetches[trace_id] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            for _ in range(3):  # let the other fetches run meanwhile
                await asyncio.sleep(0)
        finally:
            self.in_flight -= 1
        if trace_id in self.vanished:
            return httpx.Response(
                200, content=self._not_found_body, headers={"Content-Type": "application/json"}
            )
        body = _b64_id(trace_id).join(self._trace_body_parts)
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})


def _b64_id(trace_id: str) -> bytes:
    return base64.b64encode(bytes.fromhex(trace_id))


@pytest.fixture
def tempo_manifest() -> Callable[[str], list[dict[str, Any]]]:
    """The generator's ground truth: every trace of a wave with its id, start and shape."""

    def traces(name: str) -> list[dict[str, Any]]:
        return json.loads((TEMPO_FIXTURES / name).read_bytes())["traces"]

    return traces


@pytest.fixture
def fake_tempo() -> Callable[[list[dict[str, Any]]], FakeTempo]:
    return FakeTempo


@pytest.fixture
def tempo_url() -> str:
    return TEMPO_URL


_TLS = ssl.create_default_context()


@pytest.fixture
def tempo_client() -> Callable[..., TempoClient]:
    """``tempo_client(retry=..., concurrency=...)``: a TempoClient for TEMPO_URL.

    The clients share one TLS context: httpx loads its CA bundle for every new client
    otherwise, some 35 ms each, which was half of this test suite's time.
    """

    from connectors.tempo import TempoClient  # here, so that other tests never depend on it

    def make(*, base_url: str = TEMPO_URL, timeout: float = 5.0, **options: Any) -> TempoClient:
        http = httpx.AsyncClient(base_url=base_url, timeout=timeout, verify=_TLS)
        return TempoClient(http, **options)

    return make


@pytest.fixture
def serve(
    recorded: Callable[[str], httpx.Response],
) -> Callable[[respx.MockRouter, str], respx.Route]:
    """Mount a recording on exactly the request Tempo was sent: path, query and headers.

    A client that sends another query or leaves out a recorded header (Accept, X-Scope-OrgID)
    gets no answer, and the guard above fails the test.
    """

    def mount(router: respx.MockRouter, name: str) -> respx.Route:
        entry = _INDEX[name]
        route = router.get(url=TEMPO_URL + entry["path"], headers=entry["request_headers"])
        return route.mock(return_value=recorded(name))

    return mount


@pytest.fixture
def call_recorded() -> Callable[[Any, str], Awaitable[Any]]:
    """Make the TempoClient call that sends a recording's request, with its parameters."""
    return _call_recorded


async def _call_recorded(client: Any, name: str) -> Any:
    entry = _INDEX[name]
    url = urlsplit(entry["path"])
    params = dict(parse_qsl(url.query))
    path = url.path

    def number(key: str) -> Any:
        value = params.get(key)
        return int(value) if value is not None and value.isdigit() else value

    window = {"start": number("start"), "end": number("end")}
    if path == "/api/search" and "tags" in params:
        tags = dict(pair.split("=", 1) for pair in params["tags"].split())
        return await client.search_tags(
            tags,
            min_duration=params.get("minDuration"),
            max_duration=params.get("maxDuration"),
            limit=number("limit"),
            **window,
        )
    if path == "/api/search":
        return await client.search(
            params["q"], limit=number("limit"), spss=number("spss"), **window
        )
    if path == "/api/search/tags":
        return await client.tag_names(scope=params.get("scope"))
    if path == "/api/v2/search/tags":
        return await client.tag_scopes(scope=params.get("scope"), query=params.get("q"), **window)
    if match := re.fullmatch(r"/api/search/tag/(.+)/values", path):
        return await client.tag_values(match[1])
    if match := re.fullmatch(r"/api/v2/search/tag/(.+)/values", path):
        return await client.typed_tag_values(match[1], query=params.get("q"), **window)
    if match := re.fullmatch(r"/api(?:/v2)?/traces/(.+)", path):
        protobuf = entry["request_headers"].get("Accept") == "application/protobuf"
        return await client.trace(match[1], protobuf=protobuf, **window)
    if path == "/api/metrics/query_range":
        return await client.metrics_range(params["q"], step=params.get("step"), **window)
    if path == "/api/metrics/query":
        return await client.metrics_instant(params["q"], **window)
    raise AssertionError(f"no TempoClient call sends {entry['path']}")


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No SPANWISE_* variable and no .env file reaches Settings (but the test client's host
    name, which every served test needs); returns the working dir."""
    for name in list(os.environ):
        if name == "SPANWISE_ALLOWED_HOSTS":
            continue
        if name.startswith("SPANWISE_") or name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path
