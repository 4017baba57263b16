"""``spanwise tempo status`` and ``spanwise tempo pull`` against recorded and fake Tempo."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from typer.testing import CliRunner, Result

from app.cli import tempo_commands
from app.cli.main import cli
from app.time_options import parse_duration_s, parse_time_s, resolve_window
from connectors.otlp import decode_otlp_json

Serve = Callable[[respx.MockRouter, str], respx.Route]
WAVE2 = "manifest_wave2_seed7.json"
# Wave 2's traces start between 1795274732 and 1795274822; this window holds 100 of them.
START, END = 1795274700, 1795274745


def spanwise(*args: str, tempo_url: str | None = "http://tempo.test:3200") -> Result:
    options = ["--tempo", tempo_url] if tempo_url else []
    return CliRunner().invoke(cli, [*options, *args])


# --- status ----------------------------------------------------------------------------


def test_status_shows_reachability_version_tenant_and_tag_names(
    isolated_env: Path, serve: Serve
) -> None:
    with respx.mock() as router:
        serve(router, "buildinfo.json")
        serve(router, "ready.txt")
        serve(router, "search_tags_v2.json")
        result = spanwise("tempo", "status")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines == [
        "Tempo      http://tempo.test:3200",
        "reachable  yes, ready",
        "version    2.10.8 (revision f0f3ed59)",
        "tenant     none",
        # The attribute names are v1's 79; link's one name is also a span attribute.
        "tag names  79 (link 1, resource 15, span 57, event 7) and 25 intrinsics",
    ]


def test_status_shows_and_sends_the_tenant(isolated_env: Path, serve: Serve) -> None:
    with respx.mock() as router:
        serve(router, "multitenancy/buildinfo_no_org_id.json")
        serve(router, "ready.txt")
        tags = serve(router, "search_tags_v2.json")
        result = spanwise("--tenant", "team-a|team-b", "tempo", "status")

    assert result.exit_code == 0, result.output
    assert "tenant     team-a|team-b" in result.stdout
    assert tags.calls.last.request.headers["X-Scope-OrgID"] == "team-a|team-b"


def test_status_says_a_tenant_is_needed(isolated_env: Path, serve: Serve) -> None:
    with respx.mock() as router:
        serve(router, "multitenancy/buildinfo_no_org_id.json")
        serve(router, "ready.txt")
        serve(router, "multitenancy/search_tags_v2_no_org_id.txt")
        result = spanwise("tempo", "status")

    assert result.exit_code == 1
    assert "version    2.10.8" in result.stdout
    assert "tenant     none" in result.stdout
    assert "X-Scope-OrgID" in result.stderr
    assert "--tenant" in result.stderr and "SPANWISE_TEMPO_TENANT" in result.stderr


def test_status_explains_an_unreachable_tempo(isolated_env: Path) -> None:
    with respx.mock() as router:
        router.get(url__startswith="http://tempo.test:3200/").mock(
            side_effect=httpx.ConnectError("[Errno 111] Connection refused")
        )
        result = spanwise("tempo", "status")

    assert result.exit_code == 1
    assert "reachable  no" in result.stdout
    assert "Connection refused" in result.stderr
    assert "is Tempo running" in result.stderr
    assert "--tempo / SPANWISE_TEMPO_URL" in result.stderr


def test_status_without_a_tempo_url_says_how_to_give_one(isolated_env: Path) -> None:
    result = spanwise("tempo", "status", tempo_url=None)

    assert result.exit_code == 2
    assert "--tempo" in result.stderr and "SPANWISE_TEMPO_URL" in result.stderr


# --- pull ------------------------------------------------------------------------------


@pytest.fixture
def wave2(
    fake_tempo: Callable[[list[dict[str, Any]]], Any],
    tempo_manifest: Callable[[str], list[dict[str, Any]]],
) -> Any:
    return fake_tempo(tempo_manifest(WAVE2))


def test_pull_writes_one_otlp_json_trace_per_line(isolated_env: Path, wave2: Any) -> None:
    out = isolated_env / "traces.jsonl"
    with respx.mock(assert_all_called=False) as router:
        wave2.mount(router, "http://tempo.test:3200")
        result = spanwise(
            "tempo", "pull", "--start", str(START), "--end", str(END), "--out", str(out)
        )

    assert result.exit_code == 0, result.output
    expected = {t["trace_id"] for t in wave2.overlapping(START, END)}
    assert len(expected) == 100
    lines = out.read_bytes().splitlines()
    assert len(lines) == 100
    pulled = set()
    for line in lines:
        document = json.loads(line)
        assert list(document) == ["resourceSpans"]
        span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
        assert len(span["traceId"]) == 32 and int(span["traceId"], 16) >= 0  # hex, not base64
        spans = decode_otlp_json(line).spans
        assert len({s.trace_id for s in spans}) == 1 and len(spans) == wave2.TEMPLATE_SPANS
        pulled.add(spans[0].trace_id)
    assert pulled == expected
    assert "pulled 100 traces (600 spans)" in result.stdout
    assert "100/100" in result.stderr
    assert "traces/s" in result.stderr and "spans/s" in result.stderr
    assert list(isolated_env.iterdir()) == [out]  # no .partial left behind


def test_pull_tells_of_traces_gone_before_they_were_fetched(isolated_env: Path, wave2: Any) -> None:
    in_window = [t["trace_id"] for t in wave2.overlapping(START, END)]
    wave2.vanished = set(in_window[:2])
    with respx.mock(assert_all_called=False) as router:
        wave2.mount(router, "http://tempo.test:3200")
        result = spanwise("tempo", "pull", "--start", str(START), "--end", str(END), "-o", "t")

    assert result.exit_code == 0, result.output
    assert "pulled 98 traces" in result.stdout
    assert "2 found traces were gone when fetched" in result.stdout
    assert len((isolated_env / "t").read_bytes().splitlines()) == 98


def test_pull_into_a_missing_directory_is_a_usage_error(isolated_env: Path) -> None:
    result = spanwise("tempo", "pull", "--since", "1h", "--out", "nowhere/t.jsonl")

    assert result.exit_code == 2
    assert "nowhere does not exist" in result.stderr


def test_pull_takes_rfc3339_times(isolated_env: Path, wave2: Any) -> None:
    with respx.mock(assert_all_called=False) as router:
        wave2.mount(router, "http://tempo.test:3200")
        result = spanwise(
            "tempo",
            "pull",
            "--start",
            "2026-11-21T15:25:00Z",
            "--end",
            "2026-11-21T16:25:45+01:00",
            "--out",
            "traces.jsonl",
        )

    assert result.exit_code == 0, result.output
    assert wave2.searches[0][:2] == (START, END)


def test_pull_since_ends_now(
    isolated_env: Path, wave2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempo_commands, "now_s", lambda: END + 0.25)
    with respx.mock(assert_all_called=False) as router:
        wave2.mount(router, "http://tempo.test:3200")
        result = spanwise(
            "tempo", "pull", "--since", "20s", "-q", "{ }", "--limit", "100", "-o", "t.jsonl"
        )

    assert result.exit_code == 0, result.output
    # Widened outwards to whole seconds: the start rounds down, the end up.
    assert wave2.searches[0] == (END - 20, END + 1, 100)


def test_a_bad_query_prints_tempos_message_verbatim_with_a_hint(
    isolated_env: Path, recorded: Callable[[str], httpx.Response]
) -> None:
    with respx.mock() as router:
        router.get("http://tempo.test:3200/api/search").mock(
            return_value=recorded("err_search_malformed_traceql.txt")
        )
        result = spanwise("tempo", "pull", "--since", "1h", "-q", "{ status = }", "-o", "t.jsonl")

    assert result.exit_code == 1
    assert (
        "invalid TraceQL query: parse error at line 1, col 12: syntax error: unexpected }"
        in result.stderr
    )
    assert "hint: check the TraceQL in --query" in result.stderr
    assert list(isolated_env.iterdir()) == []


def test_a_pull_that_fails_midway_keeps_what_it_wrote(
    isolated_env: Path, wave2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPANWISE_TEMPO_MAX_RETRIES", "0")
    in_window = wave2.overlapping(START, END)
    newest = max(in_window, key=lambda t: int(t["start_unix_nano"]))["trace_id"]
    with respx.mock(assert_all_called=False) as router:
        router.get(f"http://tempo.test:3200/api/v2/traces/{newest}").respond(503)
        wave2.mount(router, "http://tempo.test:3200")
        result = spanwise(
            "tempo", "pull", "--start", str(START), "--end", str(END), "--limit", "20", "-o", "t"
        )

    assert result.exit_code == 1
    assert "503 Service Unavailable" in result.stderr
    partial = isolated_env / "t.partial"
    written = len(partial.read_bytes().splitlines())
    assert 0 < written < len(in_window)
    assert f"{written} traces were written to t.partial" in result.stderr
    assert not (isolated_env / "t").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "yesterday"], "neither unix seconds nor an RFC 3339 time"),
        (["--start", "2026-11-21T15:25:00"], "no UTC offset"),
        (["--since", "1h", "--start", str(START)], "either --since or --start"),
        ([], "give the window"),
        (["--since", "an hour"], "not a duration"),
    ],
)
def test_a_bad_window_is_a_usage_error(args: list[str], message: str, isolated_env: Path) -> None:
    result = spanwise("tempo", "pull", *args, "--out", "t.jsonl")

    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())  # click wraps the box


# --- window parsing --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h", 3600), ("1h30m", 5400), ("2d", 172800), ("1.5h", 5400)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize("text", ["", "1", "h", "1x", "-1h", "0s", "1h 2"])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration_s(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1795274700", 1795274700),
        ("1795274700.5", 1795274700.5),
        ("2026-11-21T15:25:00Z", 1795274700),
        ("2026-11-21T16:25:00+01:00", 1795274700),
        ("2026-11-21T15:25:00.250Z", 1795274700.25),
    ],
)
def test_times(text: str, seconds: float) -> None:
    assert parse_time_s(text) == seconds


def test_a_window_is_widened_to_whole_seconds_and_must_not_be_empty() -> None:
    assert resolve_window(since=None, start="10.7", end="20.2", now=0) == (10, 21)
    assert resolve_window(since="10s", start=None, end=None, now=100.5) == (90, 101)
    with pytest.raises(ValueError, match="before it starts"):
        resolve_window(since=None, start="20", end="10", now=0)
