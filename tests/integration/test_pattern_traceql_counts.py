"""A pattern's TraceQL selects exactly its spans, as a real Tempo counts them.

Answers cite each pattern with ``traceql_for(pattern)``, and live facts run TraceQL metrics
over it: when Tempo's ``count_over_time`` of that query over the window differs from the
spans discovery put in the pattern, every live number Spanwise shows for it is wrong, and
a person who runs the query in Grafana sees other spans than the pattern's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.discovery.traceql import traceql_for
from tests.integration.pushed_sample import PushedSample
from tests.integration.spanwise_cli import stored_patterns
from tests.integration.tempo_oracle import instant_counts, shorten
from tests.integration.tempo_process import TempoInstance

pytestmark = pytest.mark.tempo

SHOWN = 40
"""Patterns a failure lists (with their queries, cut short)."""


def test_tempo_counts_every_pattern_s_spans_exactly_by_its_traceql(
    tempo: TempoInstance, counted: PushedSample, file_data_dir: Path
) -> None:
    # Patterns from the pushed spans themselves: their counts are the truth, no Tempo between.
    patterns = stored_patterns(file_data_dir)
    assert sum(p.stats.count for p in patterns) == counted.span_count
    queries = [traceql_for(p) for p in patterns]

    tempo_counts = asyncio.run(instant_counts(tempo, queries, counted.start_s, counted.end_s))

    wrong = [
        f"{p.name} ({p.service}, {p.span_kind}): Tempo counts {n}, the pattern holds "
        f"{p.stats.count}; {shorten(query)}"
        for p, query, n in zip(patterns, queries, tempo_counts, strict=True)
        if n != p.stats.count
    ]
    assert not wrong, f"{len(wrong)} of {len(patterns)} patterns:\n" + "\n".join(wrong[:SHOWN])
