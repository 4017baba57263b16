"""``spanwise tempo pull`` against a real Tempo: every pushed trace comes back whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.pushed_sample import PushedSample
from tests.integration.spanwise_cli import pulled_traces, spanwise
from tests.integration.tempo_process import TempoInstance

pytestmark = pytest.mark.tempo


def test_pull_returns_every_pushed_trace_with_all_its_spans(
    tempo: TempoInstance, pushed: PushedSample, isolated_env: Path
) -> None:
    out = isolated_env / "pulled.jsonl"
    result = spanwise(
        "--data-dir", isolated_env / "data", "--tempo", tempo.url,
        "tempo", "pull", *pushed.window_options, "--out", out,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    wrong = pushed.differences(pulled_traces(out))
    assert not wrong, f"{len(wrong)} differences, such as:\n" + "\n".join(wrong[:5])
    assert f"pulled {len(pushed.traces)} traces ({pushed.span_count} spans)" in result.stdout
