"""With a Tempo configured, chat answers carry that Tempo's own numbers for the window.

The chat service asks Tempo for a pattern's rate, error rate and duration quantiles over the
last ``SPANWISE_CHAT_WINDOW_S`` seconds; here every pushed span is in that hour, so the rate
times the window is the pattern's span count, and the errors are the pattern's errors.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from app.discovery.patterns import SpanPattern
from app.discovery.traceql import traceql_for
from tests.integration.pushed_sample import PushedSample
from tests.integration.spanwise_cli import spanwise, stored_patterns
from tests.integration.tempo_oracle import instant_count, instant_series
from tests.integration.tempo_process import TempoInstance

pytestmark = pytest.mark.tempo

QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


def tempo_quantiles_ms(
    tempo: TempoInstance, pattern: SpanPattern, start_s: int, end_s: int
) -> dict[str, float]:
    """Tempo's duration quantiles of the pattern's spans, in milliseconds."""
    query = f"{traceql_for(pattern)} | quantile_over_time(duration, .5, .95, .99)"
    values = {
        labels["p"]: seconds for labels, seconds in instant_series(tempo, query, start_s, end_s)
    }
    return {name: round(values[q] * 1000, 3) for name, q in QUANTILES.items()}


def test_chat_answers_carry_tempo_s_numbers_for_the_pattern(
    tempo: TempoInstance, counted: PushedSample, tempo_data_dir: Path, isolated_env: Path
) -> None:
    patterns = stored_patterns(tempo_data_dir)
    busiest = max(patterns, key=lambda p: p.stats.count)
    failing = max(patterns, key=lambda p: (p.stats.error_count, p.stats.count))
    assert failing.stats.error_count > 0, "the sample system should fail sometimes"

    result = spanwise(
        "--data-dir", tempo_data_dir, "--tempo", tempo.url,
        "chat", f"@{busiest.name} @{failing.name} how busy, and how often does it fail?",
        "--json",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    facts = {fact["name"]: fact for fact in answer["facts"]}
    assert facts.keys() == {busiest.name, failing.name}
    for pattern in (busiest, failing):
        live = facts[pattern.name]["live"]
        assert "error" not in live, live
        start_s, end_s = live["start_unix_s"], live["end_unix_s"]
        assert start_s <= counted.start_s and counted.end_s <= end_s, "the window misses spans"
        spans = instant_count(tempo, traceql_for(pattern), start_s, end_s)
        assert spans == pattern.stats.count
        assert live["rate_per_s"] * (end_s - start_s) == pytest.approx(spans)
        errors = pattern.stats.error_count
        if errors:
            assert live["error_rate"] == pytest.approx(errors / spans)
        quantiles = tempo_quantiles_ms(tempo, pattern, start_s, end_s)
        assert live["latency_ms"] == quantiles
        # ... and the answer's text says them, with the window's length.
        hours = (end_s - start_s) / 3600
        per_hour = f"{spans / hours:,.0f} spans/h"
        said = [per_hour, *(f"{q} {ms:g} ms" for q, ms in quantiles.items())]
        if errors:
            said.append(f"{errors / spans:.2%} errors")
        missing = [text for text in said if text not in answer["answer"]]
        assert not missing, f"{pattern.name}: {missing} not in the answer:\n{answer['answer']}"


def test_a_window_asked_is_the_window_tempo_counts_and_the_stored_numbers_agree(
    tempo: TempoInstance, counted: PushedSample, tempo_data_dir: Path, isolated_env: Path
) -> None:
    patterns = stored_patterns(tempo_data_dir)
    busiest = max(patterns, key=lambda p: p.stats.count)
    start_s = counted.start_s - counted.start_s % 60 - 60
    end_s = counted.end_s - counted.end_s % 60 + 120
    iso = "%Y-%m-%dT%H:%M:%SZ"
    start, end = (time.strftime(iso, time.gmtime(moment)) for moment in (start_s, end_s))
    window = f"from {start} to {end}"

    result = spanwise(
        "--data-dir", tempo_data_dir, "--tempo", tempo.url,
        "chat", f"@{busiest.name} how busy was it {window}?", "--json",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["window"]["start_unix_s"] == start_s
    assert answer["window"]["end_unix_s"] <= end_s  # never past the wall clock
    (fact,) = answer["facts"]
    live, stored = fact["live"], fact["window"]["in_window"]
    assert (live["start_unix_s"], live["end_unix_s"]) == (start_s, answer["window"]["end_unix_s"])
    spans = instant_count(tempo, traceql_for(busiest), live["start_unix_s"], live["end_unix_s"])
    assert spans == busiest.stats.count == stored["spans"]
    assert live["rate_per_s"] * (live["end_unix_s"] - live["start_unix_s"]) == pytest.approx(spans)
    assert answer["answer"].startswith("Window: ")
