"""The offline classifier: deterministic, from semantic conventions and statistics alone.

No model and no network: the same patterns always get the same classifications. It is
useful on its own (``spanwise`` can name and describe patterns without a model) and is
the fallback for any pattern the model fails to classify, marked ``source="offline"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from app.classify.description import describe
from app.classify.names import proposed_names, unique_names
from app.classify.noise import judge
from app.classify.reading import Reading, read
from app.classify.verdict import Classification, Source
from app.discovery.patterns import SpanPattern


def classify_offline(pattern: SpanPattern, graph: Mapping[int, SpanPattern]) -> Classification:
    """One pattern, described with its neighbours found in ``graph`` (pattern id -> pattern).

    The name is the proposed one, not yet unique among patterns: ``classify_all_offline``
    (or ``app.classify.names.unique_names``) makes it so.
    """
    return _classified(pattern, read(pattern), graph)


def _classified(
    pattern: SpanPattern, reading: Reading, graph: Mapping[int, SpanPattern]
) -> Classification:
    verdict, reason = judge(pattern, reading, graph)
    return Classification(
        name=proposed_names(reading)[0],
        description=describe(pattern, reading, graph),
        category=reading.category,
        verdict=verdict,
        reasoning=reason,
        source=Source.OFFLINE,
    )


def classify_all_offline(
    patterns: Iterable[SpanPattern], assigned: Mapping[int, str] | None = None
) -> dict[int, Classification]:
    """Every pattern, by id, with names unique among them and ``assigned`` (pattern id ->
    name already given), which are kept."""
    graph = {pattern.id: pattern for pattern in patterns}
    readings = {pattern_id: read(pattern) for pattern_id, pattern in graph.items()}
    found = {i: _classified(graph[i], reading, graph) for i, reading in readings.items()}
    candidates = {i: proposed_names(reading) for i, reading in readings.items()}
    names = unique_names(candidates, graph, assigned)
    return {
        pattern_id: Classification.model_validate(
            {**classification.model_dump(), "name": names[pattern_id]}
        )
        for pattern_id, classification in found.items()
    }
