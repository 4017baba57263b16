"""What a store has counted already, so that no span is counted twice.

A discovery run adds its spans' statistics to the stored patterns. Running again over the
same spans (the same sample, the same file, an overlapping Tempo window: a scheduled
``--since 1h`` every 30 minutes) would count them twice, and every rate and count after
that would be wrong. Runs are recorded with their source (``PatternStore.record_run``):

- a sample of a seed counted already is refused (faults change spans, not which traces
  there are; a smaller sample is the start of a larger one);
- a file whose content was counted already is skipped;
- a Tempo window is cut to what no earlier run of the same Tempo, tenant and query covered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Window = tuple[int, int]
"""``[start, end)`` in unix seconds."""


def counted_before(runs: Iterable[dict[str, Any]], source: dict[str, Any]) -> bool:
    """Whether a sample ``source`` shares traces with one of ``runs``: one seed makes the
    same traces (ids and times) whatever faults change in them, and a smaller sample of a
    seed is the start of a larger one."""
    if source.get("kind") != "sample":
        return False
    return any(
        run.get("kind") == "sample" and run.get("seed") == source.get("seed") for run in runs
    )


def uncounted_files(runs: Iterable[dict[str, Any]], source: dict[str, Any]) -> list[int]:
    """The positions in a files ``source`` (``files_source``) of the files whose content no
    run counted: a file counted before is skipped, whichever list it came in."""
    counted = {
        digest for run in runs if run.get("kind") == "files" for digest in run.get("sha256", ())
    }
    new: list[int] = []
    for index, digest in enumerate(source.get("sha256", ())):
        if digest not in counted:
            new.append(index)
            counted.add(digest)  # the same file twice in one list counts once
    return new


@dataclass(frozen=True)
class Piece:
    """A part of a Tempo window to pull: it owns the traces that start in ``[start, end)``
    (unix seconds), and with ``before`` also those that began before ``start``."""

    start: int
    end: int
    before: bool

    def pull_window(self) -> tuple[int, int, bool]:
        """Tempo's ``start``, ``end`` and ``at_end`` that own exactly this piece's traces
        (``TempoClient.pull``): a window ``[a, b]`` with ``at_end`` owns ``[a, b + 1)``."""
        if self.end - 1 > self.start:
            return self.start, self.end - 1, True
        return self.start, self.end, False  # one second: Tempo needs end after start

    def record(self, source: dict[str, Any]) -> dict[str, Any]:
        """The run source to record for this piece."""
        return {**source, "start": self.start, "end": self.end - 1, "owned": [self.start, self.end]}


def uncounted_pieces(
    runs: Iterable[dict[str, Any]], source: dict[str, Any], window: Window
) -> list[Piece]:
    """The parts of ``window`` (``[start, end]``, as ``discover --start/--end`` gives it)
    whose traces no recorded Tempo run of the same Tempo URL, tenant and query owned, in
    order; empty when all of it was.

    A run owned the traces that start in its window (its first piece also those that began
    before it and reach into it). A piece next to a counted window starts exactly where
    that window's traces ended, and claims nothing before it.
    """
    covered = sorted(
        _owned(run)
        for run in runs
        if run.get("kind") == "tempo"
        and all(run.get(key) == source.get(key) for key in ("url", "tenant", "query"))
    )
    ends = {end for _, end in covered}
    return [
        Piece(start, end, before=start not in ends)
        for start, end in _minus((window[0], window[1] + 1), covered)
    ]


def _owned(run: dict[str, Any]) -> Window:
    """The trace starts a recorded run owned, half-open; runs recorded before ``owned``
    was kept owned their window and its last second."""
    owned = run.get("owned")
    if owned:
        return int(owned[0]), int(owned[1])
    return int(run["start"]), int(run["end"]) + 1


def _minus(window: Window, covered: Sequence[Window]) -> list[Window]:
    left: list[Window] = []
    start, end = window
    for covered_start, covered_end in covered:
        if covered_end <= start or covered_start >= end:
            continue
        if covered_start > start:
            left.append((start, covered_start))
        start = max(start, covered_end)
        if start >= end:
            return left
    left.append((start, end))
    return left
