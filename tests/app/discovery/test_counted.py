"""What a store counted already: no span is counted twice."""

from __future__ import annotations

from typing import Any

import pytest

from app.discovery.counted import counted_before, uncounted_windows

TEMPO = {"kind": "tempo", "url": "http://tempo:3200", "tenant": None, "query": "{}"}


def pulled(start: int, end: int, **other: Any) -> dict[str, Any]:
    return {**TEMPO, "start": start, "end": end, **other}


@pytest.mark.parametrize(
    ("runs", "window", "left"),
    [
        ([], (100, 200), [(100, 200)]),
        ([pulled(100, 150)], (100, 200), [(150, 200)]),  # a --since run, again later
        ([pulled(150, 250)], (100, 200), [(100, 150)]),
        ([pulled(120, 130), pulled(160, 170)], (100, 200), [(100, 120), (130, 160), (170, 200)]),
        ([pulled(0, 500)], (100, 200), []),
        ([pulled(100, 150), pulled(140, 200)], (100, 200), []),
        ([pulled(200, 300)], (100, 200), [(100, 200)]),  # touching is not overlapping
        # Another query, Tempo or tenant counted other spans.
        ([pulled(100, 200, query='{ .service.name = "cart" }')], (100, 200), [(100, 200)]),
        ([pulled(100, 200, tenant="acme")], (100, 200), [(100, 200)]),
        ([pulled(100, 200, url="http://other:3200")], (100, 200), [(100, 200)]),
    ],
)
def test_a_tempo_window_is_cut_to_what_was_not_pulled(
    runs: list[dict[str, Any]], window: tuple[int, int], left: list[tuple[int, int]]
) -> None:
    assert uncounted_windows(runs, TEMPO, window) == left


def test_samples_and_files_count_once() -> None:
    sample = {"kind": "sample", "seed": 42, "traces": 2000, "faults": []}
    assert counted_before([sample], dict(sample))
    assert not counted_before([sample], {**sample, "seed": 43})
    assert not counted_before([sample], {**sample, "traces": 500})
    # The demo's sample with a fault, then --sample without: the same traces.
    assert counted_before([{**sample, "faults": [{"name": "slow_query"}]}], sample)
    files = {"kind": "files", "paths": ["/x.json"], "sha256": ["ab"]}
    assert counted_before([files], {**files, "paths": ["/moved/x.json"]})  # same content
    assert not counted_before([files], {**files, "sha256": ["cd"]})  # new content
    old_record = {"kind": "files", "paths": ["/x.json"]}  # recorded before digests
    assert not counted_before([old_record], files)
    assert not counted_before([pulled(1, 2)], {"kind": "pushed"})
