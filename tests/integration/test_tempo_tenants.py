"""A multi-tenant Tempo: a tenant pulls its own traces, no tenant is told to name one, and
another tenant sees none of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import Result

from tests.integration.pushed_sample import PushedSample
from tests.integration.spanwise_cli import pulled_traces, spanwise
from tests.integration.tempo_process import TempoInstance

pytestmark = pytest.mark.tempo


def pull(tempo: TempoInstance, sample: PushedSample, out: Path, *tenant: str) -> Result:
    return spanwise(
        "--data-dir", out.parent / "data", "--tempo", tempo.url, *tenant,
        "tempo", "pull", *sample.window_options, "--out", out,
    )  # fmt: skip


def test_a_tenant_pulls_the_traces_pushed_as_it(
    multitenant_tempo: TempoInstance, team_a_pushed: PushedSample, isolated_env: Path
) -> None:
    out = isolated_env / "team-a.jsonl"
    result = pull(multitenant_tempo, team_a_pushed, out, "--tenant", "team-a")

    assert result.exit_code == 0, result.output
    wrong = team_a_pushed.differences(pulled_traces(out))
    assert not wrong, f"{len(wrong)} differences, such as:\n" + "\n".join(wrong[:5])


def test_without_a_tenant_the_pull_says_to_pass_one(
    multitenant_tempo: TempoInstance, team_a_pushed: PushedSample, isolated_env: Path
) -> None:
    out = isolated_env / "none.jsonl"
    result = pull(multitenant_tempo, team_a_pushed, out)

    assert result.exit_code == 1
    assert "pass --tenant" in result.stderr and "X-Scope-OrgID" in result.stderr
    assert not out.exists()


def test_another_tenant_sees_none_of_them(
    multitenant_tempo: TempoInstance, team_a_pushed: PushedSample, isolated_env: Path
) -> None:
    out = isolated_env / "team-b.jsonl"
    result = pull(multitenant_tempo, team_a_pushed, out, "--tenant", "team-b")

    assert result.exit_code == 0, result.output
    pulled = pulled_traces(out)
    assert not pulled, f"team-b pulled {len(pulled)} of team-a's {len(team_a_pushed.traces)}"
    assert "pulled 0 traces" in result.stdout
