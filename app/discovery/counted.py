"""What a store has counted already, so that no span is counted twice.

A discovery run adds its spans' statistics to the stored patterns. Running again over the
same spans (the same sample, the same file, an overlapping Tempo window: a scheduled
``--since 1h`` every 30 minutes) would count them twice, and every rate and count after
that would be wrong. Runs are recorded with their source (``PatternStore.record_run``):

- a sample of a seed counted already is refused (faults change spans, not which traces
  there are; a smaller sample is the start of a larger one);
- a file whose content was counted already is skipped, and one that grew (a file exporter
  appends) is read from where the run that counted it stopped;
- a Tempo window is cut to what no earlier run of the same Tempo, tenant and query covered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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


PrefixDigest = Callable[[int, int], str]
"""``prefix_digest(index, size)``: the sha256 of the first ``size`` bytes of file ``index``."""


def uncounted_files(
    runs: Iterable[dict[str, Any]],
    source: dict[str, Any],
    prefix_digest: PrefixDigest | None = None,
) -> list[tuple[int, int]]:
    """The files of a files ``source`` (``files_source``) with spans no run counted, as
    (position, byte to read from): a file whose content was counted is left out, in
    whatever list it came; one that grew since a run counted it (its first bytes are what
    was counted, as a file exporter appends) is read from where that run stopped."""
    counted: dict[str, int] = {}  # digest -> size, of what runs counted
    by_path: dict[str, list[tuple[str, int]]] = {}
    for run in runs:
        if run.get("kind") != "files":
            continue
        sizes = run.get("sizes") or [None] * len(run.get("sha256", ()))
        for path, digest, size in zip(
            run.get("paths", ()), run.get("sha256", ()), sizes, strict=False
        ):
            counted[digest] = size or 0
            if size:
                by_path.setdefault(path, []).append((digest, size))
    new: list[tuple[int, int]] = []
    sizes = source.get("sizes") or [0] * len(source.get("sha256", ()))
    for index, (path, digest, size) in enumerate(
        zip(source.get("paths", ()), source.get("sha256", ()), sizes, strict=False)
    ):
        if digest in counted:
            continue
        counted[digest] = size  # the same file twice in one list counts once
        grown = [
            earlier
            for earlier_digest, earlier in by_path.get(path, ())
            if 0 < earlier < size
            and prefix_digest is not None
            and prefix_digest(index, earlier) == earlier_digest
        ]
        new.append((index, max(grown, default=0)))
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
