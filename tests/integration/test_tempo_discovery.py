"""Discovery from a real Tempo finds the patterns discovery finds in the same spans' file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from app.discovery.operation import Matcher
from app.discovery.patterns import SpanPattern
from tests.integration.pushed_sample import PushedSample
from tests.integration.spanwise_cli import stored_patterns

pytestmark = pytest.mark.tempo

Shape = tuple[str, str, str, int, int, tuple[Matcher, ...]]


def shape(pattern: SpanPattern) -> Shape:
    """What two discoveries of the same spans must agree on: which spans a pattern holds
    (service, kind, operation, how many, how many failed) and how it recognises them."""
    return (
        pattern.service,
        pattern.span_kind,
        pattern.operation,
        pattern.stats.count,
        pattern.stats.error_count,
        pattern.matchers,
    )


def describe(pattern: Shape) -> str:
    service, kind, operation, spans, errors, matchers = pattern
    return f"{service} {kind} {operation!r}: {spans} spans, {errors} errors, {matchers}"


def test_discovery_from_tempo_finds_what_discovery_from_a_file_finds(
    pushed: PushedSample, tempo_data_dir: Path, file_data_dir: Path
) -> None:
    file_patterns = stored_patterns(file_data_dir)
    from_tempo = Counter(shape(p) for p in stored_patterns(tempo_data_dir))
    from_file = Counter(shape(p) for p in file_patterns)

    assert sum(p.stats.count for p in file_patterns) == pushed.span_count
    only_tempo = sorted(map(describe, (from_tempo - from_file).elements()))
    only_file = sorted(map(describe, (from_file - from_tempo).elements()))
    assert not only_tempo and not only_file, (
        "only from Tempo:\n" + "\n".join(only_tempo[:10])
        + "\nonly from the file:\n" + "\n".join(only_file[:10])
    )  # fmt: skip
