"""A system discovery never saw, on a real Tempo: learned variables and exclusions count exactly.

Its ids have shapes no rule knows, so its patterns carry placeholders that discovery learned
(``/carts/{cart_id}``) and exclusions for the literal siblings beside them
(``span.url.path !~ ".../orders/search"``): the queries a person pastes into Grafana for
them must count what the patterns hold, as they do for the sample system.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.discovery.store import PatternStore
from app.discovery.traceql import grafana_explore_url, traceql_for
from tests.integration.pushed_sample import PushedSample
from tests.integration.tempo_oracle import instant_counts, shorten
from tests.integration.tempo_process import TempoInstance

pytestmark = pytest.mark.tempo

SHOWN = 40


def test_tempo_counts_learned_and_excluding_patterns_exactly(
    multitenant_tempo: TempoInstance, unfamiliar_counted: PushedSample, unfamiliar_data_dir: Path
) -> None:
    store = PatternStore(unfamiliar_data_dir / "patterns.sqlite")
    patterns = [p for p in store.load(timelines=False) if p.merged_into is None and p.stats.count]
    assert sum(p.stats.count for p in patterns) == unfamiliar_counted.span_count
    # what makes this system unfamiliar is there: variables were learned, siblings excluded
    assert len(store.learned_variables()) >= 10
    assert any(p.exclusions for p in patterns)
    queries = [traceql_for(p) for p in patterns]
    assert max(len(query) for query in queries) <= 1000
    links = [grafana_explore_url("http://grafana:3000", "tempo", q, 0, 60) for q in queries]
    assert max(map(len, links)) < 8 * 1024

    counts = asyncio.run(
        instant_counts(
            multitenant_tempo,
            queries,
            unfamiliar_counted.start_s,
            unfamiliar_counted.end_s,
            org_id=unfamiliar_counted.org_id,
        )
    )

    wrong = [
        f"{p.name} ({p.service}, {p.span_kind}): Tempo counts {n}, the pattern holds "
        f"{p.stats.count}; {shorten(query)}"
        for p, query, n in zip(patterns, queries, counts, strict=True)
        if n != p.stats.count
    ]
    assert not wrong, f"{len(wrong)} of {len(patterns)} patterns:\n" + "\n".join(wrong[:SHOWN])
