"""Matchers, queries and links short enough to read, paste and open, on every system we have.

Targets: every matcher value at most 300 characters, every pattern's TraceQL at most 1,000,
its Grafana Explore link under the 8 KB a default nginx in front of Grafana accepts. On the
sample system, with every fault, and on the traces a real Tempo 2.10.8 recorded
(``tests/fixtures/tempo``), which another generator wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.discovery.cluster import PatternClusterer
from app.discovery.normalize import normalize
from app.discovery.patterns import SpanPattern
from app.discovery.run import sample_batches
from app.discovery.traceql import grafana_explore_url, traceql_for
from app.sample import FaultName, faults_by_name
from connectors.otlp import decode_otlp_json

TEMPO = Path(__file__).parents[2] / "fixtures" / "tempo" / "2.10.8"
ALL_FAULTS = faults_by_name([f.value for f in FaultName])


def _sample(seed: int, faults: tuple) -> list[SpanPattern]:
    clusterer = PatternClusterer(normalize)
    for batch in sample_batches(seed, 2000, faults):
        clusterer.accept(batch)
    return clusterer.patterns


def _recorded_traces() -> list[SpanPattern]:
    clusterer = PatternClusterer(normalize)
    for path in sorted(TEMPO.glob("trace_v2_*.json")):
        if "not_found" not in path.name:
            clusterer.accept(decode_otlp_json(path.read_bytes()).spans)
    return clusterer.patterns


@pytest.mark.parametrize(
    "discovered",
    [
        pytest.param(lambda: _sample(42, ()), id="sample system"),
        pytest.param(lambda: _sample(7, ALL_FAULTS), id="sample system, every fault"),
        pytest.param(_recorded_traces, id="traces Tempo recorded"),
    ],
)
def test_matchers_queries_and_links_are_short(discovered: Callable[[], list[SpanPattern]]) -> None:
    patterns = [p for p in discovered() if p.merged_into is None]
    assert len(patterns) > 20
    longest_matcher = max((len(m.match_value), m.match_value) for p in patterns for m in p.matchers)
    assert longest_matcher[0] <= 300, longest_matcher[1]
    queries = [traceql_for(p) for p in patterns]
    assert max(map(len, queries)) <= 1000
    grafana = "https://grafana.example.com"
    links = [grafana_explore_url(grafana, "tempo", query, 0, 3600) for query in queries]
    assert max(map(len, links)) < 8 * 1024
