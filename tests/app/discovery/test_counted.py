"""What a store counted already: no span is counted twice."""

from __future__ import annotations

from typing import Any

import pytest

from app.discovery.counted import Piece, counted_before, uncounted_files, uncounted_pieces

TEMPO = {"kind": "tempo", "url": "http://tempo:3200", "tenant": None, "query": "{}"}


def owned(start: int, end: int, **other: Any) -> dict[str, Any]:
    """A run recorded as owning the traces that start in ``[start, end)``."""
    return {**TEMPO, "start": start, "end": end - 1, "owned": [start, end], **other}


@pytest.mark.parametrize(
    ("runs", "window", "left"),
    [
        # Nothing counted: the window and its last second, and what began before it.
        ([], (100, 200), [Piece(100, 201, before=True)]),
        # A --since run, again later: from where the first one's traces ended, nothing before.
        ([owned(100, 151)], (100, 200), [Piece(151, 201, before=False)]),
        ([owned(150, 251)], (100, 200), [Piece(100, 150, before=True)]),
        (
            [owned(120, 130), owned(160, 170)],
            (100, 200),
            [Piece(100, 120, True), Piece(130, 160, False), Piece(170, 201, False)],
        ),
        ([owned(0, 501)], (100, 200), []),
        ([owned(100, 151), owned(140, 201)], (100, 200), []),
        ([owned(202, 300)], (100, 200), [Piece(100, 201, before=True)]),
        # A run recorded before "owned" was kept owned its window and its last second.
        ([{**TEMPO, "start": 100, "end": 150}], (100, 200), [Piece(151, 201, before=False)]),
        # Another query, Tempo or tenant counted other spans.
        (
            [owned(100, 201, query='{ .service.name = "cart" }')],
            (100, 200),
            [Piece(100, 201, True)],
        ),
        ([owned(100, 201, tenant="acme")], (100, 200), [Piece(100, 201, True)]),
        ([owned(100, 201, url="http://other:3200")], (100, 200), [Piece(100, 201, True)]),
    ],
)
def test_a_tempo_window_is_cut_to_the_traces_no_run_owned(
    runs: list[dict[str, Any]], window: tuple[int, int], left: list[Piece]
) -> None:
    assert uncounted_pieces(runs, TEMPO, window) == left


def test_a_piece_is_pulled_as_a_window_that_owns_exactly_its_traces() -> None:
    # [a, b] with its last second owns [a, b + 1); a one-second piece cannot end at its start.
    assert Piece(100, 201, True).pull_window() == (100, 200, True)
    assert Piece(151, 152, False).pull_window() == (151, 152, False)
    recorded = Piece(151, 201, False).record(TEMPO)
    assert recorded["owned"] == [151, 201] and (recorded["start"], recorded["end"]) == (151, 200)


def test_a_seed_counts_once_whatever_its_size_and_faults() -> None:
    sample = {"kind": "sample", "seed": 42, "traces": 2000, "faults": []}
    assert counted_before([sample], dict(sample))
    assert not counted_before([sample], {**sample, "seed": 43})
    assert counted_before([sample], {**sample, "traces": 4000})  # starts with the same traces
    assert counted_before([{**sample, "faults": [{"name": "slow_query"}]}], sample)
    assert not counted_before([owned(1, 2)], {"kind": "pushed"})


def test_files_count_once_by_content_whatever_list_they_come_in() -> None:
    first = {"kind": "files", "paths": ["/a.json"], "sha256": ["aa"], "sizes": [10]}
    both = {
        "kind": "files",
        "paths": ["/a.json", "/b.json"],
        "sha256": ["aa", "bb"],
        "sizes": [10, 20],
    }
    assert uncounted_files([first], both) == [(1, 0)]
    assert uncounted_files([], {**both, "sha256": ["aa", "aa"]}) == [(0, 0)]  # twice in a list
    assert uncounted_files([first], {**first, "paths": ["/moved/a.json"]}) == []
    assert uncounted_files([first], {**first, "sha256": ["cc"]}) == [(0, 0)]  # new content
    assert uncounted_files([{"kind": "files", "paths": ["/a.json"]}], first) == [(0, 0)]


def test_a_file_that_grew_is_read_from_where_it_was_counted() -> None:
    counted = {"kind": "files", "paths": ["/spans.jsonl"], "sha256": ["old"], "sizes": [100]}
    grown = {"kind": "files", "paths": ["/spans.jsonl"], "sha256": ["new"], "sizes": [150]}

    def prefix(index: int, size: int) -> str:
        assert (index, size) == (0, 100)
        return "old"  # its first 100 bytes are what was counted

    assert uncounted_files([counted], grown, prefix) == [(0, 100)]
    rewritten = uncounted_files([counted], grown, lambda _index, _size: "other")
    assert rewritten == [(0, 0)]  # not an append: read whole
