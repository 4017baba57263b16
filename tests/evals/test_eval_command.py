"""``spanwise eval run`` and ``spanwise eval compare`` end to end, on small scenarios."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from app.chat.model_answer import TEMPLATE as ANSWER_TEMPLATE
from app.cli.main import cli
from app.sample import SampleConfig, generate_traces
from connectors.otlp.json_encode import encode_otlp_json
from prompts import FENCE_CLOSE, FENCE_OPEN, template_version
from tests.openai_replies import chat_completion

pytestmark = pytest.mark.usefixtures("isolated_env")  # no key or model from the environment

BASE = "http://judge.test/v1"
SCENARIO = """\
scenario:
  seed: 42
  traces: 300
  faults: [slow_query]
refs:
  query: {fault: slow_query}
"""
CASES = {
    "slow": """\
description: Why the slowed query is slow.
tags: [latency, easy]
turns:
  - ask: "@{query} why is this slow?"
    expect:
      cites: [query]
      numbers: [{of: query, metric: p99}]
""",
    "callers": """\
description: What calls the query.
tags: [topology, medium]
turns:
  - ask: "what calls @{query}?"
    expect:
      callers_of: [{ref: query}]
""",
    "impossible": """\
description: Asks for a word no answer of Spanwise contains, to fail.
tags: [latency, hard]
turns:
  - ask: "@{query|typo} why is this slow?"
    expect:
      mentions: [{ref: query, kind: fuzzy}]
      concepts: ['flux capacitor']
""",
}


def write_cases(directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    for name, body in CASES.items():
        (directory / f"{name}.yaml").write_text(body.replace("turns:", SCENARIO + "turns:", 1))
    return str(directory / "*.yaml")


def invoke(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["--data-dir", str(data_dir), "eval", *args], env={"COLUMNS": "200", **(env or {})}
    )
    return result.exit_code, result.output


def endpoint(request: httpx.Request) -> httpx.Response:
    """An OpenAI-compatible server that behaves like the real thing for each caller: the
    judge gets a verdict (no when it is asked for the impossible word), the chat an answer
    written from the facts it was given, and classification nothing usable, so it falls
    back offline."""
    user = json.loads(request.content)["messages"][-1]["content"]
    if "Expected elements:" in user:
        correct = "no" if "flux capacitor" in user else "yes"
        verdict = json.dumps({"reasoning": f"judged {correct}", "correct": correct})
        return completion(verdict, 300, 20)
    if "Facts:" in user:
        facts = json.loads(user.split(FENCE_OPEN, 1)[1].split(FENCE_CLOSE, 1)[0])
        first = facts[0]
        return completion(
            f"@{first['name']} has a p99 of {first['latency_ms']['p99']} ms.", 1500, 40
        )
    return completion("{}", 900, 10)


def completion(content: str, prompt_tokens: int, completion_tokens: int) -> httpx.Response:
    return chat_completion(
        content,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        model="gpt-4o-mini",
    )


def test_a_model_run_with_a_judge_then_an_offline_run_then_compare(
    tmp_path: Path, no_network: respx.MockRouter
) -> None:
    cases = write_cases(tmp_path / "cases")
    no_network.post(f"{BASE}/chat/completions").mock(side_effect=endpoint)
    env = {
        "OPENAI_API_KEY": "sk-test",
        "SPANWISE_MODEL_BASE_URL": BASE,
        "SPANWISE_JUDGE_MODEL": "gpt-4o-mini",
    }
    code, output = invoke(
        tmp_path / "data",
        "run",
        "--cases",
        cases,
        "--model",
        "gpt-4o-mini",
        "--out",
        str(tmp_path / "first"),
        "--min-pass-rate",
        "0.5",
        env=env,
    )
    assert code == 1, output  # the model's answers name no caller: 1 of 3 passes
    assert "pass rate 33.3% is below --min-pass-rate 50.0%" in output
    assert "Pass rate 1/3 (33.3%)" in output
    assert "failed: callers (0/1), impossible (0/1)" in output
    first = next((tmp_path / "first").glob("eval-gpt-4o-mini-*.json"))
    report = json.loads(first.read_text())
    versions = report["versions"]
    assert versions["answer_model"] == "gpt-4o-mini" and versions["judge_model"] == "gpt-4o-mini"
    assert versions["answer_prompt"] == template_version(ANSWER_TEMPLATE)
    assert versions["classify_model"] == "gpt-4o-mini"
    assert report["scenarios"][0]["classify_tokens"]["prompt"] > 0
    by_id = {case["id"]: case["runs"][0] for case in report["cases"]}
    slow = by_id["slow"]
    assert slow["passed"] and slow["turns"][0]["mode"] == "model"
    assert slow["tokens"] == {"prompt": 1500, "completion": 40}
    assert slow["judge_tokens"] == {"prompt": 300, "completion": 20}
    assert slow["cost_usd"] == pytest.approx((1800 * 0.15 + 60 * 0.60) / 1e6)
    judge = {c["name"]: c for c in by_id["impossible"]["turns"][0]["checks"]}["judge"]
    assert (judge["status"], judge["detail"]) == ("fail", "judged no")
    markdown = first.with_suffix(".md").read_text()
    assert "### impossible (run 1)" in markdown and "concept flux capacitor" in markdown

    code, output = invoke(
        tmp_path / "data",
        "run",
        "--cases",
        cases,
        "--tags",
        "latency",
        "--tags",
        "easy,medium",
        "--offline",
        "--out",
        str(tmp_path / "second"),
        "--min-pass-rate",
        "1",
        env={"OPENAI_API_KEY": "sk-test", "SPANWISE_MODEL_BASE_URL": BASE},
    )
    assert code == 0, output
    assert "1 cases x 1, answers by offline facts, judge none" in output
    second = next((tmp_path / "second").glob("eval-offline-*.json"))

    code, output = invoke(tmp_path / "data", "compare", str(first), str(second))
    assert code == 0, output
    assert "pass rate 33.3% -> 100.0%" in output
    assert "gone: callers (0% -> -), impossible (0% -> -)" in output
    assert "answer_model: gpt-4o-mini -> offline" in output
    code, output = invoke(tmp_path / "data", "compare", str(second), str(first), "--fail-on-worse")
    assert code == 0  # the case both ran passed both times


def test_a_case_on_real_traces_from_otlp_files(tmp_path: Path) -> None:
    """Spans with no truth label: discovery reads the file, the truth groups by span name."""
    config = SampleConfig(seed=7, traces=200)
    lines = [encode_otlp_json(trace.spans) for trace in generate_traces(config)]
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "spans.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (tmp_path / "cases" / "search.yaml").write_text(
        """\
description: How many searches the search API served, in real traces.
tags: [throughput, easy]
scenario:
  files: [spans.jsonl]
refs:
  search: {select: {service: search, kind: server, attributes: {http.route: "^/v1/search$"}}}
turns:
  - ask: "how many requests did @{search} serve?"
    expect:
      cites: [search]
      numbers: [{of: search, metric: count, rel: 0}]
"""
    )
    code, output = invoke(
        tmp_path / "data",
        "run",
        "--cases",
        str(tmp_path / "cases" / "*.yaml"),
        "--out",
        str(tmp_path),
    )
    assert code == 0, output
    report = json.loads(next(tmp_path.glob("eval-offline-*.json")).read_text())
    assert report["summary"]["passed"] == 1, report["cases"][0]["runs"][0]
    assert report["scenarios"][0]["key"].startswith("files ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tags", "security"], "no case has the tags security"),
        (["--model", "gpt-4o"], "no model configured"),
        (["--price-in", "1"], "give both --price-in and --price-out"),
    ],
)
def test_a_run_that_cannot_start_says_why(tmp_path: Path, args: list[str], message: str) -> None:
    cases = write_cases(tmp_path / "cases")
    code, output = invoke(tmp_path, "run", "--cases", cases, *args)
    assert code == 2 and message in output


def test_broken_case_files_are_listed_and_nothing_runs(tmp_path: Path) -> None:
    cases = write_cases(tmp_path / "cases")
    (tmp_path / "cases" / "broken.yaml").write_text(CASES["slow"].replace("easy", "simple"))
    code, output = invoke(tmp_path, "run", "--cases", cases)
    assert code == 2
    assert "broken case files" in output and "broken.yaml: tags: exactly one difficulty" in output


def test_compare_refuses_a_file_that_is_not_a_report(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{}")
    code, output = invoke(tmp_path, "compare", str(tmp_path / "a.json"), str(tmp_path / "a.json"))
    assert code == 2 and "not an eval report" in output


def test_a_scenario_that_cannot_be_built_fails_its_cases_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "gone.yaml").write_text(
        """\
description: Spans from a file that is not there.
tags: [throughput, easy]
scenario:
  files: [missing.jsonl]
refs:
  any: {select: {}, pick: most_spans}
turns:
  - ask: "how busy is @{any}?"
"""
    )
    code, output = invoke(
        tmp_path, "run", "--cases", str(tmp_path / "gone.yaml"), "--out", str(tmp_path)
    )
    assert code == 0, output
    assert "1 runs could not be checked" in output
    report = json.loads(next(tmp_path.glob("eval-offline-*.json")).read_text())
    error = report["cases"][0]["runs"][0]["error"]
    assert error.startswith("ScenarioError: scenario files ") and "missing.jsonl" in error
