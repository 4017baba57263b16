"""``spanwise discover`` and ``spanwise patterns`` as a person runs them."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from typer.testing import CliRunner

from app.cli.main import cli
from app.discovery.store import PatternStore
from connectors.otlp import decode_otlp_json, encode_otlp_json

TEMPO = Path(__file__).parents[2] / "fixtures" / "tempo" / "2.10.8"
WIDE = {"COLUMNS": "250"}


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], env=WIDE)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def discovered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    data_dir = tmp_path_factory.mktemp("data")
    code, output = run(data_dir, "discover", "--sample", "--traces", "400", "--seed", "5")
    assert code == 0, output
    return data_dir, output


def test_discover_sample_prints_patterns_per_service_and_saves_them(
    discovered: tuple[Path, str],
) -> None:
    data_dir, output = discovered
    assert "spans/s" in output and "saved to" in output
    assert "Span patterns by service" in output
    for service in ("frontend", "checkout", "payment", "inventory", "cart", "notification"):
        assert service in output
    assert (data_dir / "patterns.sqlite").is_file()


def test_a_second_run_adds_to_the_known_patterns_and_never_counts_a_span_twice(
    tmp_path: Path,
) -> None:
    def total() -> int:
        return sum(
            row["count"] for row in json.loads(run(tmp_path, "patterns", "list", "--json")[1])
        )

    code, first = run(tmp_path, "discover", "--sample", "--traces", "300", "--seed", "5")
    assert code == 0, first
    spans_per_run = int(first.split(" spans in ")[0].replace(",", "").split()[-1])
    assert total() == spans_per_run

    code, again = run(tmp_path, "discover", "--sample", "--traces", "300", "--seed", "5")
    assert code == 0 and "already counted" in again, again
    assert total() == spans_per_run  # the same spans: nothing added

    code, other = run(tmp_path, "discover", "--sample", "--traces", "300", "--seed", "6")
    assert code == 0, other
    other_spans = int(other.split(" spans in ")[0].replace(",", "").split()[-1])
    assert total() == spans_per_run + other_spans  # joined the first run's patterns

    code, forced = run(
        tmp_path, "discover", "--sample", "--traces", "300", "--seed", "5", "--again"
    )
    assert code == 0 and "already counted" not in forced
    assert total() == 2 * spans_per_run + other_spans


def test_a_file_is_counted_once_until_its_content_changes(tmp_path: Path) -> None:
    spans = decode_otlp_json((TEMPO / "trace_v2_checkout_ok.json").read_bytes()).spans
    path = tmp_path / "export.json"
    path.write_bytes(encode_otlp_json(spans[:10]))
    data = tmp_path / "data"
    assert run(data, "discover", "--file", str(path))[0] == 0
    code, output = run(data, "discover", "--file", str(path))
    assert code == 0 and "its content was counted before" in " ".join(output.split())
    path.write_bytes(encode_otlp_json(spans[10:]))  # the exporter wrote new spans there
    code, output = run(data, "discover", "--file", str(path))
    assert code == 0 and f"{len(spans) - 10} spans in" in output


def test_a_file_an_exporter_appends_to_is_counted_line_by_line_once(tmp_path: Path) -> None:
    spans = decode_otlp_json((TEMPO / "trace_v2_checkout_ok.json").read_bytes()).spans
    path = tmp_path / "export.jsonl"  # as the Collector's file exporter writes it
    path.write_bytes(encode_otlp_json(spans[:10]) + b"\n")
    data = tmp_path / "data"
    assert run(data, "discover", "--file", str(path))[0] == 0
    with path.open("ab") as exporter:
        exporter.write(encode_otlp_json(spans[10:]) + b"\n")
    code, output = run(data, "discover", "--file", str(path))
    assert code == 0 and "grew since it was counted" in " ".join(output.split()), output
    assert f"{len(spans) - 10} spans in" in output
    total = sum(row["count"] for row in json.loads(run(data, "patterns", "list", "--json")[1]))
    assert total == len(spans)


def test_a_file_with_no_span_fails_and_says_what_it_needs(tmp_path: Path) -> None:
    empty, broken = tmp_path / "empty.json", tmp_path / "broken.json"
    empty.write_bytes(b"")
    broken.write_bytes(b'{"resourceSpans": [')
    for path in (empty, broken):
        code, output = run(tmp_path / "data", "discover", "--file", str(path))
        assert code == 2, output
        assert "no span could be read from" in output and "OTLP traces as JSON" in output
    code, output = run(tmp_path / "data", "patterns", "list")
    assert code == 1 and "no patterns yet" in output


def test_patterns_list_and_show_as_json(discovered: tuple[Path, str]) -> None:
    data_dir, _ = discovered
    code, output = run(data_dir, "patterns", "list", "--service", "payment", "--json")
    assert code == 0
    rows = json.loads(output)
    assert rows and {row["service"] for row in rows} == {"payment"}
    busiest = max(rows, key=lambda row: row["count"])
    code, output = run(data_dir, "patterns", "show", busiest["name"], "--json")
    assert code == 0, output
    document = json.loads(output)
    assert set(document) >= {
        "name",
        "service",
        "span_kind",
        "operation",
        "matchers",
        "stats",
        "samples",
    }
    assert document["stats"]["count"] == busiest["count"]
    assert document["matchers"] and document["samples"]["typical"]
    assert all(len(s["trace_id"]) == 32 for s in document["samples"]["typical"])
    # both carry what selects the pattern's spans, as matchers and as TraceQL
    for shown in (busiest, document):
        assert shown["matchers"] == document["matchers"]
        assert shown["exclusions"] == document["exclusions"] == []
        assert shown["traceql"].startswith('{ resource.service.name = "payment" && kind = ')
        assert len(shown["traceql"]) <= 1000
    assert all(len(m["match_value"]) <= 300 for row in rows for m in row["matchers"])
    code, output = run(data_dir, "patterns", "show", busiest["name"])
    assert f"traceql {document['traceql']}" in output


def test_show_takes_several_names_or_all_in_one_process(discovered: tuple[Path, str]) -> None:
    data_dir, _ = discovered
    rows = json.loads(run(data_dir, "patterns", "list", "--json")[1])
    names = [row["name"] for row in rows[:3]]
    code, output = run(data_dir, "patterns", "show", *names, "--json")
    assert code == 0, output
    assert [document["name"] for document in json.loads(output)] == names
    code, output = run(data_dir, "patterns", "show", "--all", "--json")
    assert code == 0, output
    assert sorted(document["name"] for document in json.loads(output)) == sorted(
        row["name"] for row in rows
    )
    code, output = run(data_dir, "patterns", "show", *names[:2])
    assert code == 0 and all("traceql { resource.service.name" in output for _ in names[:2])
    assert run(data_dir, "patterns", "show", "--all", names[0])[0] != 0
    assert run(data_dir, "patterns", "show")[0] != 0


def test_show_unknown_pattern_suggests_names(discovered: tuple[Path, str]) -> None:
    data_dir, _ = discovered
    code, output = run(data_dir, "patterns", "show", "payment")
    assert code == 1
    assert "no pattern named 'payment'" in output and "did you mean" in output


def test_discover_files_skips_bad_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    spans = decode_otlp_json((TEMPO / "trace_v2_checkout_ok.json").read_bytes()).spans
    path = tmp_path / "spans.jsonl"
    path.write_bytes(encode_otlp_json(spans) + b"\n{broken\n")
    code, output = run(tmp_path / "data", "discover", "--file", str(path))
    assert code == 0, output
    assert "skipped" in output and "spans.jsonl:2" in output
    assert "28 spans in" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "choose one source"),
        (("--sample", "--file", "x"), "does not exist"),  # typer checks the file first
        (("--since", "1h"), "no Tempo URL"),
        (("--sample", "--fault", "gremlins"), "unknown fault"),
    ],
)
def test_discover_usage_errors_say_what_to_do(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    code, output = run(tmp_path, "discover", *args)
    assert code == 2
    assert message in output


def test_patterns_list_before_any_discovery(tmp_path: Path) -> None:
    code, output = run(tmp_path, "patterns", "list")
    assert code == 1 and "spanwise discover --sample" in output


# --- discovery from Tempo: a sample by default, every trace on request ------------------

TEMPO_URL = "http://tempo.test:3200"
WAVE1 = "manifest_wave1_seed42.json"
# Wave 1's traces start between 1795273815 and 1795274593, some 140 to 260 a minute; this
# window is 15 slices of about a minute, the last two empty.
WINDOW = ("--start", "1795273800", "--end", "1795274720")


def own_span_ids(fake: Any) -> Any:
    """Give each trace the fake serves span ids of its own, as real traces have.

    The fake serves one recorded trace under every trace id, so without this all traces
    would share their span ids; parent links stay intact as every id is mapped the same way.
    """
    template = json.loads((TEMPO / "trace_v2_browse.json").read_bytes())
    span_ids = {
        span[key]
        for resource in template["trace"]["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
        for key in ("spanId", "parentSpanId")
        if span.get(key)
    }
    serve = fake.trace

    async def trace(request: httpx.Request, trace_id: str) -> httpx.Response:
        response: httpx.Response = await serve(request, trace_id)
        body = response.content
        salt = bytes.fromhex(trace_id)[:8]
        for span_id in span_ids:
            own = bytes(a ^ b for a, b in zip(base64.b64decode(span_id), salt, strict=True))
            body = body.replace(
                f'"{span_id}"'.encode(), f'"{base64.b64encode(own).decode()}"'.encode()
            )
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    fake.trace = trace
    return fake


@pytest.fixture
def wave1(
    fake_tempo: Callable[[list[dict[str, Any]]], Any],
    tempo_manifest: Callable[[str], list[dict[str, Any]]],
) -> Any:
    return own_span_ids(fake_tempo(tempo_manifest(WAVE1)))


def discover_from(
    fake: Any,
    data_dir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    search: Callable[[httpx.Request], httpx.Response] | None = None,
) -> tuple[int, str]:
    """``spanwise discover`` against the fake Tempo, optionally with another search answer."""
    with respx.mock(assert_all_called=False) as router:
        fake.mount(router, TEMPO_URL)
        if search is not None:
            router.get(f"{TEMPO_URL}/api/search").mock(side_effect=search)  # replaces the fake's
        result = CliRunner().invoke(
            cli,
            ["--data-dir", str(data_dir), "--tempo", TEMPO_URL, "discover", *args],
            env={**WIDE, **(env or {})},
        )
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("options", "env", "slices", "limit", "sentence"),
    [
        # The settings' defaults: 20 traces from each minute.
        (
            (),
            {},
            15,
            21,
            "sampled 20 traces per 1m slice: 260 traces from 15 slices (13 slices had more "
            "traces than were taken); pattern counts are from the sample, not exact",
        ),
        (
            ("--traces-per-slice", "5", "--slice", "1m"),
            {},
            15,
            6,
            "sampled 5 traces per 1m slice: 65 traces from 15 slices (13 slices had more "
            "traces than were taken); pattern counts are from the sample, not exact",
        ),
        # 920 s in slices of 5 minutes: 3 slices, the last with 60 s of traffic.
        (
            (),
            {"SPANWISE_DISCOVERY_SLICE_S": "300", "SPANWISE_DISCOVERY_TRACES_PER_SLICE": "3"},
            3,
            4,
            "sampled 3 traces per 5m slice: 9 traces from 3 slices (3 slices had more",
        ),
        # The command's options win over the settings.
        (
            ("--traces-per-slice", "1", "--slice", "90s"),
            {"SPANWISE_DISCOVERY_SLICE_S": "300", "SPANWISE_DISCOVERY_TRACES_PER_SLICE": "3"},
            10,
            2,
            "sampled 1 trace per 90s slice: 9 traces from 10 slices (9 slices had more",
        ),
    ],
)
def test_discover_from_tempo_samples_each_slice_and_says_so(
    isolated_env: Path,
    wave1: Any,
    options: tuple[str, ...],
    env: dict[str, str],
    slices: int,
    limit: int,
    sentence: str,
) -> None:
    code, output = discover_from(wave1, isolated_env, *WINDOW, *options, env=env)

    assert code == 0, output
    assert len(wave1.searches) == slices
    assert {search_limit for _, _, search_limit in wave1.searches} == {limit}
    fetched = sum(wave1.fetches.values())
    assert set(wave1.fetches.values()) == {1}
    assert sentence in " ".join(output.split())
    assert f"{fetched} traces from {slices} slices" in output
    assert f"{fetched * wave1.TEMPLATE_SPANS:,} spans in" in output
    assert f"{fetched} traces fetched" in output and "spans/s" in output  # the progress bar
    assert "Span patterns by service" in output


def test_a_sample_of_slices_that_were_not_full_says_it_is_every_trace(
    isolated_env: Path, wave1: Any
) -> None:
    start, end = 1795274100, 1795274160
    code, output = discover_from(
        wave1, isolated_env, "--start", str(start), "--end", str(end), "--traces-per-slice", "500"
    )

    assert code == 0, output
    every = len(wave1.overlapping(start, end))
    assert f"{every} traces from 1 slice, every trace of the window: no slice had more" in output
    assert "not exact" not in output


def test_discover_all_traces_pulls_every_trace_of_the_window(
    isolated_env: Path, wave1: Any
) -> None:
    start, end = 1795274100, 1795274160
    code, output = discover_from(
        wave1, isolated_env, "--start", str(start), "--end", str(end), "--all-traces"
    )

    assert code == 0, output
    expected = {t["trace_id"] for t in wave1.overlapping(start, end)}
    assert len(expected) > 150
    assert set(wave1.fetches) == expected and set(wave1.fetches.values()) == {1}
    assert f"{len(expected) * wave1.TEMPLATE_SPANS:,} spans in" in output
    assert "sampled" not in output and f"{len(expected)} traces fetched" in output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--all-traces", "--traces-per-slice", "5"), "--all-traces pulls every trace"),
        (("--all-traces", "--slice", "1m"), "leave out --traces-per-slice and --slice"),
        (("--slice", "500ms"), "a slice is whole seconds, at least 1s"),
        (("--slice", "1.5s"), "a slice is whole seconds"),
        (("--slice", "soon"), "--slice: 'soon' is not a duration"),
        (("--traces-per-slice", "0"), "Invalid value for '--traces-per-slice'"),
    ],
)
def test_discover_sampling_options_that_make_no_sense_say_why(
    isolated_env: Path, wave1: Any, options: tuple[str, ...], message: str
) -> None:
    code, output = discover_from(wave1, isolated_env, "--since", "1h", *options)

    assert code == 2
    assert message in " ".join(output.split())
    assert wave1.searches == []


def failing_third_search(
    fake: Any, failure: Callable[[httpx.Request], httpx.Response]
) -> Callable[[httpx.Request], httpx.Response]:
    def search(request: httpx.Request) -> httpx.Response:
        if len(fake.searches) == 2:
            return failure(request)
        response: httpx.Response = fake.search(request)
        return response

    return search


def too_many_requests(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(429, text="job queue full", headers={"Retry-After": "0"})


def querier_down(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(500, text="querier crashed")


def timed_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


@pytest.mark.parametrize(
    ("failure", "retries", "messages"),
    [
        (
            too_many_requests,
            "1",
            [
                "429 Too Many Requests (tried 2 times): job queue full",
                "hint: try again later, or ask less of Tempo at once",
            ],
        ),
        (querier_down, "0", ["500 Internal Server Error (tried once): querier crashed"]),
        (timed_out, "0", ["did not answer within 30 s: narrow the time range"]),
    ],
)
def test_tempo_failing_midway_through_a_sample_is_a_clear_error(
    isolated_env: Path,
    wave1: Any,
    failure: Callable[[httpx.Request], httpx.Response],
    retries: str,
    messages: list[str],
) -> None:
    code, output = discover_from(
        wave1,
        isolated_env,
        *WINDOW,
        env={"SPANWISE_TEMPO_MAX_RETRIES": retries},
        search=failing_third_search(wave1, failure),
    )

    assert code == 2
    flat = " ".join(output.split())
    assert "error: Tempo: Tempo at http://tempo.test:3200/api/search?" in flat
    for message in messages:
        assert message in flat
    assert len(wave1.searches) == 2 and wave1.fetches  # it failed midway
    assert "sampled" not in output


def test_the_patterns_table_keeps_names_whole_and_gives_up_the_operation_when_narrow(
    tmp_path: Path,
) -> None:
    from rich.console import Console

    from app.cli.discover_command import patterns_table
    from app.discovery.run import discover_sample
    from app.discovery.store import PatternStore

    store = PatternStore(tmp_path / "patterns.sqlite")
    discover_sample(store, 3, 60)
    patterns = [p for p in store.load(sketches=False) if p.stats.count]
    store.close()
    longest = max(patterns, key=lambda p: len(p.name)).name
    for width, with_operation in ((len(longest) + 80, False), (len(longest) + 160, True)):
        console = Console(width=width, record=True)
        console.print(patterns_table(patterns, width))
        text = console.export_text()
        assert longest in text  # on one line, whole
        assert ("operation" in text) is with_operation
        assert all(len(line) <= width for line in text.splitlines())


def test_a_window_pulled_before_is_not_counted_again(isolated_env: Path, wave1: Any) -> None:
    start = 1795274100
    first = ("--start", str(start), "--end", str(start + 60), "--all-traces")
    wider = ("--start", str(start), "--end", str(start + 120), "--all-traces")
    code, output = discover_from(wave1, isolated_env, *first)
    assert code == 0, output
    searched = len(wave1.searches)

    code, output = discover_from(wave1, isolated_env, *wider)
    assert code == 0, output
    assert "pulling only 2026" in output and "(--again pulls all)" in output
    # The first run owned the traces starting up to its last second: from the next one on.
    assert {s for s, _, _ in wave1.searches[searched:]} == {start + 61}
    assert set(wave1.fetches.values()) == {1}  # no trace fetched by both runs
    searched = len(wave1.searches)

    code, output = discover_from(wave1, isolated_env, *wider)
    assert code == 0 and "already counted" in output, output
    assert len(wave1.searches) == searched  # Tempo was not asked

    code, output = discover_from(wave1, isolated_env, *wider, "--again")
    assert code == 0, output
    assert wave1.searches[searched][0] == start


def test_traces_that_keep_failing_are_kept_for_resume_and_the_rest_is_saved(
    isolated_env: Path, wave1: Any
) -> None:
    start, end = 1795274100, 1795274160
    expected = sorted({t["trace_id"] for t in wave1.overlapping(start, end)})
    broken = set(expected[:2])
    serve = wave1.trace

    async def sometimes_failing(request: httpx.Request, trace_id: str) -> httpx.Response:
        if trace_id in broken:
            return httpx.Response(500, text="upstream ingester unavailable")
        response: httpx.Response = await serve(request, trace_id)
        return response

    wave1.trace = sometimes_failing
    code, output = discover_from(
        wave1,
        isolated_env,
        "--start", str(start), "--end", str(end), "--all-traces",
        env={"SPANWISE_TEMPO_MAX_RETRIES": "1"},
    )  # fmt: skip
    flat = " ".join(output.split())
    assert code == 3, output
    assert "2 traces could not be fetched" in flat and "--resume" in flat
    listed = json.loads((isolated_env / "failed-traces.json").read_text())
    assert {entry["trace_id"] for entry in listed["traces"]} == broken
    assert PatternStore(isolated_env / "patterns.sqlite").count() > 0  # the rest is saved

    wave1.trace = serve  # Tempo answers again: only the two are fetched
    before = dict(wave1.fetches)
    code, output = discover_from(wave1, isolated_env, "--resume")
    assert code == 0, output
    assert "Resumed: 2 of 2 traces fetched" in output
    fetched_now = {t for t, n in wave1.fetches.items() if n > before.get(t, 0)}
    assert fetched_now == broken
    assert not (isolated_env / "failed-traces.json").exists()


@pytest.mark.parametrize("width", [80, 160])
def test_the_patterns_table_never_splits_a_name_across_lines(
    discovered: tuple[Path, str], width: int
) -> None:
    from rich.console import Console

    from app.classify.run import live_patterns
    from app.cli.discover_command import patterns_table

    data_dir, _ = discovered
    store = PatternStore(data_dir / "patterns.sqlite")
    patterns = live_patterns(store.load(timelines=False))
    store.close()
    names = {p.name for p in patterns}
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(patterns_table(patterns, width))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= width
    cells = [line.split("│")[2].strip() for line in lines if line.startswith("│")]
    assert len(cells) == len(patterns)  # one line each: no name wraps onto a second
    for cell in cells:
        head, _, tail = cell.partition("…")
        assert cell in names or any(n.startswith(head) and n.endswith(tail) for n in names), cell
