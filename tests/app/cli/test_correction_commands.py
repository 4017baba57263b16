"""``spanwise patterns reclassify|describe|categorize|rename|corrections`` as a person runs
them, and what ``patterns show`` and ``patterns list`` then say."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.classify.run import classify_patterns
from app.cli.main import cli
from app.discovery.normalize import normalize
from app.discovery.run import DiscoveryRun, pattern_store_path, sample_batches, sample_source
from app.discovery.store import PatternStore

WIDE = {"COLUMNS": "250", "USER": "sre-on-call"}
SEED, TRACES = 5, 300


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], env=WIDE)
    return result.exit_code, result.output


def discover(path: Path, seed: int = SEED) -> None:
    store = PatternStore(path)
    run = DiscoveryRun(store, normalize, source=sample_source(seed, TRACES))
    for batch in sample_batches(seed, TRACES):
        run.accept(batch)
    run.finish()
    store.close()


def classify(data_dir: Path) -> None:
    store = PatternStore(pattern_store_path(data_dir))
    classify_patterns(store)
    store.close()


@pytest.fixture(scope="module")
def discovered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store built once per module, not classified; each test works on its own copy."""
    path = tmp_path_factory.mktemp("template") / "patterns.sqlite"
    discover(path)
    return path


@pytest.fixture
def unclassified(tmp_path: Path, discovered: Path) -> Path:
    shutil.copy(discovered, pattern_store_path(tmp_path))
    return tmp_path


@pytest.fixture
def data_dir(unclassified: Path) -> Path:
    classify(unclassified)
    return unclassified


def rows(data_dir: Path, service: str | None = None) -> list[dict[str, Any]]:
    code, output = run(
        data_dir, "patterns", "list", "--json", *(("--service", service) if service else ())
    )
    assert code == 0, output
    return list(json.loads(output))


def busiest(data_dir: Path, service: str, kind: str) -> str:
    chosen = [r for r in rows(data_dir, service) if r["span_kind"] == kind]
    return str(max(chosen, key=lambda r: r["count"])["name"])


def shown(data_dir: Path, name: str) -> dict[str, Any]:
    """``patterns show --json``; notes such as "x is an old name of y" go to stderr."""
    args = ["--data-dir", str(data_dir), "patterns", "show", name, "--json"]
    result = CliRunner().invoke(cli, args, env=WIDE)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_corrections_show_up_in_show_list_and_corrections(data_dir: Path) -> None:
    name = busiest(data_dir, "frontend", "server")
    code, output = run(
        data_dir, "patterns", "reclassify", name, "noise", "--reason", "only probes call it"
    )
    assert code == 0, output
    assert f"verdict of {name} set to noise by sre-on-call; only probes call it" in output
    code, output = run(
        data_dir, "patterns", "describe", name, "The storefront's product page.",
        "--author", "ana",
    )  # fmt: skip
    assert code == 0, output
    code, output = run(data_dir, "patterns", "categorize", name, "server", "--reason", "legacy")
    assert code == 0, output

    document = shown(data_dir, name)
    assert document["classification"] == {
        **document["classification"],
        "name": name,
        "verdict": "noise",
        "description": "The storefront's product page.",
        "category": "server",
        "person_fields": ["category", "description", "reasoning", "verdict"],
    }
    code, output = run(data_dir, "patterns", "show", name)
    assert code == 0, output
    assert "The storefront's product page. (person)" in output
    assert "verdict: noise (person); " in output
    assert "source: offline; set by a person: category, description, reasoning, verdict" in output

    row = next(r for r in rows(data_dir, "frontend") if r["name"] == name)
    assert row["verdict"] == "noise" and row["description"] == "The storefront's product page."

    code, output = run(data_dir, "patterns", "corrections")
    assert code == 0, output
    lines = output.splitlines()
    assert len(lines) == 3
    assert re.match(r"1\. \d{4}-\d\d-\d\d \d\d:\d\d sre-on-call: ", lines[0])
    assert lines[0].endswith(f"sre-on-call: verdict of {name} set to noise; only probes call it")
    assert lines[1].endswith(f"ana: description of {name} set to The storefront's product page.")
    assert lines[2].endswith(f"sre-on-call: category of {name} set to server; legacy")
    code, output = run(data_dir, "patterns", "corrections", "--json")
    assert [(c["author"], c["field"], c["reason"]) for c in json.loads(output)] == [
        ("sre-on-call", "verdict", "only probes call it"),
        ("ana", "description", ""),
        ("sre-on-call", "category", "legacy"),
    ]


def test_corrections_survive_a_new_store_and_a_later_classification(data_dir: Path) -> None:
    corrected = busiest(data_dir, "frontend", "server")
    untouched = busiest(data_dir, "payment", "server")
    run(data_dir, "patterns", "reclassify", corrected, "noise", "--reason", "probes")
    run(data_dir, "patterns", "describe", corrected, "Kept as written.")
    run(data_dir, "patterns", "rename", corrected, "frontend_product_page")
    before = shown(data_dir, "frontend_product_page")["classification"]
    untouched_before = shown(data_dir, untouched)["classification"]

    # More spans change the statistics every description quotes; then classify again.
    discover(pattern_store_path(data_dir), seed=SEED + 1)
    classify(data_dir)

    after = shown(data_dir, "frontend_product_page")["classification"]
    assert after["verdict"] == "noise" and after["description"] == "Kept as written."
    assert after["name"] == "frontend_product_page"
    assert after["person_fields"] == ["description", "name", "reasoning", "verdict"]
    assert after["reasoning"] == before["reasoning"]
    untouched_after = shown(data_dir, untouched)["classification"]
    assert untouched_after["description"] != untouched_before["description"]
    assert untouched_after["person_fields"] == []
    code, output = run(data_dir, "patterns", "corrections")
    assert code == 0 and len(output.splitlines()) == 3


def test_a_renamed_pattern_keeps_its_old_name_and_no_one_else_can_take_it(
    data_dir: Path,
) -> None:
    old = busiest(data_dir, "frontend", "server")
    other = busiest(data_dir, "payment", "server")
    code, output = run(
        data_dir, "patterns", "rename", old, "frontend_product_page", "--reason", "clearer"
    )
    assert code == 0, output
    assert "renamed to frontend_product_page by sre-on-call; clearer" in output
    assert f"{old} keeps meaning frontend_product_page" in output

    code, output = run(data_dir, "patterns", "show", old)
    assert code == 0, output
    assert f"{old} is an old name of frontend_product_page" in output
    assert "frontend_product_page  frontend server" in output
    assert old in output.split("old names: ")[1]
    assert old in shown(data_dir, old)["aliases"]
    assert shown(data_dir, old)["name"] == "frontend_product_page"
    assert old not in {r["name"] for r in rows(data_dir)}

    code, output = run(data_dir, "patterns", "rename", other, old)
    assert code == 1
    assert f"error: {old!r} is an old name of another pattern" in output
    # an old name works wherever a name does, and every old name keeps resolving
    code, output = run(data_dir, "patterns", "reclassify", old, "noise", "--reason", "probe")
    assert code == 0 and "verdict of frontend_product_page set to noise" in output
    code, output = run(data_dir, "patterns", "rename", old, "frontend_product_view")
    assert code == 0, output
    for name in (old, "frontend_product_page", "frontend_product_view"):
        assert shown(data_dir, name)["name"] == "frontend_product_view"
    assert shown(data_dir, old)["aliases"][-2:] == [old, "frontend_product_page"]
    assert shown(data_dir, other)["name"] == other

    code, output = run(data_dir, "patterns", "corrections")
    lines = output.splitlines()
    assert lines[0].endswith(
        "sre-on-call: renamed to frontend_product_page (now frontend_product_view); clearer"
    )
    assert lines[2].endswith("sre-on-call: renamed to frontend_product_view")


def test_an_unclassified_pattern_cannot_be_corrected(unclassified: Path) -> None:
    name = busiest(unclassified, "frontend", "server")
    code, output = run(unclassified, "patterns", "reclassify", name, "noise", "--reason", "r")
    assert code == 1
    assert f"error: {name} is not classified yet: run `spanwise classify` first" in output
    code, output = run(unclassified, "patterns", "show", name)
    assert code == 0 and "not classified yet: run `spanwise classify`" in output
    assert shown(unclassified, name)["classification"] is None
    code, output = run(unclassified, "patterns", "corrections")
    assert code == 0 and "no corrections yet" in output


def test_with_no_patterns_a_correction_says_to_discover_first(tmp_path: Path) -> None:
    code, output = run(tmp_path, "patterns", "rename", "a_pattern", "b_pattern")
    assert code == 1 and "no patterns yet: run `spanwise discover` first" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("reclassify", "{name}x", "noise", "--reason", "r"), "no pattern named '{name}x'; did"),
        (("reclassify", "{name}", "maybe", "--reason", "r"), "'maybe' is not one of keep, noise"),
        (("reclassify", "{name}", "noise", "--reason", " "), "say why with --reason"),
        (("describe", "{name}", "   "), "a description cannot be empty"),
        (("categorize", "{name}", "database"), "'database' is not one of http_server"),
        (("rename", "{name}", "Product Page"), "'Product Page' is not a valid name"),
        (("rename", "{name}", "{other}"), "'{other}' is the name of another pattern"),
        (
            ("rename", "zzzz_nothing_like_it", "new_name"),
            "no pattern named 'zzzz_nothing_like_it'; see",
        ),
    ],
)
def test_a_correction_spanwise_cannot_make_fails_and_changes_nothing(
    data_dir: Path, args: tuple[str, ...], message: str
) -> None:
    name = busiest(data_dir, "frontend", "server")
    other = busiest(data_dir, "payment", "server")
    before = rows(data_dir)
    code, output = run(data_dir, "patterns", *(a.format(name=name, other=other) for a in args))
    assert code == 1, output
    assert f"error: {message.format(name=name, other=other)}" in output
    if "did" in message:
        assert f"did you mean {name}" in output
    assert rows(data_dir) == before
    assert "no corrections yet" in run(data_dir, "patterns", "corrections")[1]


def test_reclassify_requires_a_reason(data_dir: Path) -> None:
    name = busiest(data_dir, "frontend", "server")
    code, output = run(data_dir, "patterns", "reclassify", name, "noise")
    assert code == 2 and "--reason" in output
    assert "no corrections yet" in run(data_dir, "patterns", "corrections")[1]
