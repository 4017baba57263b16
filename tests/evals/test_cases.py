"""Case files: the shipped suite is complete, and a broken file says what is wrong, where."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from app.sample import FaultName
from evals.cases import (
    DIFFICULTIES,
    KINDS,
    CaseError,
    SampleScenario,
    load_case,
    load_cases,
    packaged_cases_glob,
    select_cases,
)

GOOD = """\
description: A good case.
tags: [latency, easy]
scenario:
  seed: 42
  traces: 300
  faults: [slow_query]
refs:
  query: {fault: slow_query}
turns:
  - ask: "@{query} why is this slow?"
    expect:
      cites: [query]
      numbers:
        - {of: query, metric: p99}
        - {of: query, metric: slow_window, abs: 2}
"""


def test_the_shipped_suite_covers_every_kind_difficulty_and_fault() -> None:
    cases = load_cases([packaged_cases_glob()])
    assert len(cases) >= 40
    kinds = Counter(kind for case in cases for kind in case.kinds)
    assert all(kinds[kind] >= 5 for kind in KINDS), kinds
    assert {case.difficulty for case in cases} == set(DIFFICULTIES)
    injected = {
        spec.name
        for case in cases
        if isinstance(case.scenario, SampleScenario)
        for spec in case.scenario.faults
    }
    assert injected == set(FaultName)
    asks = [turn.ask for case in cases for turn in case.turns]
    assert any("|typo" in ask for ask in asks)  # typo'd mentions
    assert any("@" not in ask for ask in asks)  # questions without mentions
    assert any(len(case.turns) > 1 for case in cases)


def test_a_good_case_loads_with_its_file_name_as_id(tmp_path: Path) -> None:
    path = tmp_path / "slow-query.yaml"
    path.write_text(GOOD)
    case = load_case(path)
    assert case.id == "slow-query" and case.path == path
    assert case.difficulty == "easy" and case.kinds == ["latency"]
    assert isinstance(case.scenario, SampleScenario)
    assert case.scenario.built_faults()[0].name is FaultName.SLOW_QUERY


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  seed: 42\n", "  seed: [42\n", "not valid YAML"),
        ("[slow_query]", "[slow_querry]", "scenario.faults.0.name: Input should be 'slow_query'"),
        ("  traces: 300", "  traces: 10", "scenario.traces: Input should be greater than"),
        ("{query}", "{quer}", "turn 1: ask uses {quer}, which is not among refs (query)"),
        ("{query}", "{query|typos}", "unknown filter |typos"),
        ("cites: [query]", "cites: [nope]", "turn 1: expect.cites names 'nope'"),
        ("metric: p99", "metric: p98", "turns.0.expect.numbers.0.metric: Input should be"),
        ("[latency, easy]", "[latency, easy, hard]", "exactly one difficulty tag"),
        ("[latency, easy]", "[easy]", "at least one kind tag"),
        ("[latency, easy]", "[latency, easy, Big]", "tag 'Big'"),
        ("cites: [query]", "concepts: ['(unclosed']", "invalid regex '(unclosed'"),
        ("cites: [query]", "colour: blue", "turns.0.expect.colour: Extra inputs are not permitted"),
        (
            "{fault: slow_query}",
            "{pick: only}",
            "refs.query: a ref needs operation, fault or select",
        ),
        ("{fault: slow_query}", "{fault: n_plus_one}", "fault n_plus_one is not in the scenario"),
        # a window needs to know whose fault it is when there are several
        ("[slow_query]", "[slow_query, n_plus_one]", "a window metric needs `fault:`"),
        ("  seed: 42\n  traces: 300\n  faults: [slow_query]", "  files: [a.jsonl]", "use select"),
        ("turns:", "turn:", "turns: Field required"),
    ],
)
def test_a_broken_case_says_what_is_wrong_and_where(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in GOOD
    path = tmp_path / "broken.yaml"
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(CaseError) as error:
        load_case(path)
    assert message in str(error.value)
    assert str(error.value).startswith(str(path))


def test_a_yaml_error_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace("description: A good case.", "description: A bad: case."))
    with pytest.raises(CaseError, match=rf"^{path}:1:\d+: not valid YAML"):
        load_case(path)


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- one\n- two\n")
    with pytest.raises(CaseError, match="a case is a mapping"):
        load_case(path)


def test_every_broken_file_and_empty_glob_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "bad1.yaml").write_text(GOOD.replace("[latency, easy]", "[easy]"))
    (tmp_path / "bad2.yaml").write_text(GOOD.replace("metric: p99", "metric: p98"))
    with pytest.raises(CaseError) as error:
        load_cases([str(tmp_path / "*.yaml"), str(tmp_path / "none/*.yaml")])
    text = str(error.value)
    assert "bad1.yaml" in text and "bad2.yaml" in text and "good.yaml" not in text
    assert "none/*.yaml: no case file matches" in text


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ([], ["a", "b", "c"]),
        (["latency"], ["a", "b"]),
        (["latency,errors"], ["a", "b", "c"]),  # comma: any of
        (["latency", "hard"], ["b"]),  # repeated: all of
        (["security"], []),
    ],
)
def test_tags_select_cases(tmp_path: Path, options: list[str], expected: list[str]) -> None:
    for name, tags in (("a", "latency, easy"), ("b", "latency, hard"), ("c", "errors, hard")):
        (tmp_path / f"{name}.yaml").write_text(GOOD.replace("latency, easy", tags))
    cases = load_cases([str(tmp_path / "*.yaml")])
    assert [case.id for case in select_cases(cases, options)] == expected
