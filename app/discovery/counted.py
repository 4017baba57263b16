"""What a store has counted already, so that no span is counted twice.

A discovery run adds its spans' statistics to the stored patterns. Running again over the
same spans (the same sample, the same file, an overlapping Tempo window: a scheduled
``--since 1h`` every 30 minutes) would count them twice, and every rate and count after
that would be wrong. Runs are recorded with their source (``PatternStore.record_run``):

- a sample (its seed and size: faults change spans, not which traces there are) or a set of
  files (by content) that was counted already is refused;
- a Tempo window is cut to what no earlier run of the same Tempo, tenant and query covered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Window = tuple[int, int]
"""``[start, end)`` in unix seconds."""


def counted_before(runs: Iterable[dict[str, Any]], source: dict[str, Any]) -> bool:
    """Whether a sample or files ``source`` was counted by one of ``runs``.

    Files count as the same when their contents are (``files_source`` records digests);
    a file whose content changed is new.
    """
    if source.get("kind") not in ("sample", "files"):
        return False
    return any(_same(run, source) for run in runs)


def uncounted_windows(
    runs: Iterable[dict[str, Any]], source: dict[str, Any], window: Window
) -> list[Window]:
    """The parts of ``window`` that no recorded Tempo run of the same Tempo URL, tenant
    and query pulled, in order; empty when all of it was."""
    covered = sorted(
        (int(run["start"]), int(run["end"]))
        for run in runs
        if run.get("kind") == "tempo"
        and all(run.get(key) == source.get(key) for key in ("url", "tenant", "query"))
    )
    return _minus(window, covered)


def _same(run: dict[str, Any], source: dict[str, Any]) -> bool:
    if run.get("kind") != source.get("kind"):
        return False
    if source["kind"] == "files":
        return bool(source.get("sha256")) and run.get("sha256") == source.get("sha256")
    # One seed and size give the same traces (ids, times), whatever faults change in them.
    return run.get("seed") == source.get("seed") and run.get("traces") == source.get("traces")


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
