"""``spanwise classify`` and classification at the end of ``spanwise discover``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import respx
from typer.testing import CliRunner

from app.cli.main import cli
from tests.openai_replies import chat_completion

BASE = "http://model.test/v1"


def run(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["--data-dir", str(data_dir), *args], env={"COLUMNS": "250", **(env or {})}
    )
    return result.exit_code, result.output


def names(data_dir: Path) -> list[str]:
    code, output = run(data_dir, "patterns", "list", "--json")
    assert code == 0, output
    return [row["name"] for row in json.loads(output)]


def test_discover_classifies_offline_and_says_so(tmp_path: Path) -> None:
    code, output = run(tmp_path, "discover", "--sample", "--traces", "200", "--seed", "3")
    assert code == 0, output
    assert "no model configured: classified offline" in output
    assert "postgres_query_select_orders" in output  # the table shows the classified names
    assert "postgres_query_select_orders" in names(tmp_path)

    code, output = run(tmp_path, "classify")
    assert code == 0, output
    assert re.search(r"\d+ patterns classified, 0 new or changed", output), output
    assert "Classified span patterns" in output
    # The busiest 30 are shown; the rest are counted, and `patterns list` has them all.
    shown = re.search(r"and (\d+) more: `spanwise patterns list` shows every one", output)
    assert shown and int(shown.group(1)) + 30 == len(names(tmp_path))


def test_discover_without_classification_keeps_provisional_names(tmp_path: Path) -> None:
    code, output = run(
        tmp_path, "discover", "--sample", "--traces", "100", "--seed", "3", "--no-classify"
    )
    assert code == 0, output
    assert "classified" not in output
    assert "checkout_client_postgresql_select_orders" in names(tmp_path)
    code, listed = run(tmp_path, "patterns", "list", "--json")
    rows = json.loads(listed)  # every row has the same keys, null until classified
    assert rows and all(r["verdict"] is None and r["description"] is None for r in rows)


def cards(user: str) -> list[tuple[str, str, str]]:
    """(ref, service, kind) of each card of a batch: cards follow their "service" line."""
    found, service = [], ""
    for line in user.splitlines():
        if heading := re.fullmatch(r"service (\S+):", line):
            service = heading.group(1)
        elif card := re.match(r"(\d+) (\S+) ", line):
            found.append((card.group(1), service, card.group(2)))
    return found


def test_classify_with_a_model_reports_tokens_and_the_second_run_costs_none(
    tmp_path: Path, no_network: respx.MockRouter
) -> None:
    code, output = run(
        tmp_path, "discover", "--sample", "--traces", "100", "--seed", "3", "--no-classify"
    )
    assert code == 0, output

    def answer(request: httpx.Request) -> httpx.Response:
        user = json.loads(request.content)["messages"][1]["content"]
        refs = cards(user)
        items = [
            {
                "ref": ref,
                "name": f"{service}_{kind}_p{ref}_{len(user)}",
                "description": f"{service} does something ({kind}).",
                "category": "internal",
                "verdict": "keep",
                "reasoning": "It is real work.",
            }
            for ref, service, kind in refs
        ]
        content = json.dumps({"patterns": items})
        return chat_completion(
            content, prompt_tokens=1000, completion_tokens=500, model="local-llama"
        )

    route = no_network.post(f"{BASE}/chat/completions").mock(side_effect=answer)
    env = {"SPANWISE_MODEL_BASE_URL": BASE}  # a local server: no key needed
    code, output = run(tmp_path, "classify", "--model", "local-llama", env=env)
    assert code == 0, output
    calls = route.call_count
    assert calls >= 1
    assert (
        f"local-llama: {calls} calls, {1000 * calls:,} prompt + {500 * calls:,} completion"
        in output
    )
    assert json.loads(route.calls.last.request.content)["model"] == "local-llama"
    assert route.calls.last.request.headers["authorization"] == "Bearer not-needed"

    code, output = run(tmp_path, "classify", "--model", "local-llama", env=env)
    assert code == 0, output
    assert route.call_count == calls
    assert "local-llama: 0 calls, 0 prompt + 0 completion tokens" in output
