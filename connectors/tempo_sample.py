"""Pulling a bounded, evenly spread sample of a time window's traces out of Tempo.

Over hours of busy traffic, pulling every trace (``connectors.tempo_window``) is far more
than discovery needs. A sampled pull cuts the window into equal slices of about
``SamplePlan.slice_s`` seconds and searches each slice once, taking at most
``traces_per_slice`` of its traces. The slice count is the window divided by ``slice_s``,
rounded to the nearest whole number (at least one, so a window shorter than a slice is one
slice); Tempo's ``start``/``end`` are whole seconds, so the slices' lengths differ by at most
a second. The sample is bounded by slices times ``traces_per_slice`` and spread evenly over
the window however bursty the traffic: a quiet slice gives as many traces as a busy one, or
all it has.

Which traces of a slice: a search returns at most ``limit`` traces, and when more match Tempo
2.10.8 keeps those with the lowest trace ids. Trace ids are random, so the lowest ids are an
unbiased pick within the slice, spread over it as its traffic is. Each slice is searched with
``limit = traces_per_slice + 1`` and the ``traces_per_slice`` lowest ids of the answer are
taken: the one extra summary tells a slice that held more traces than were taken (``full``)
from one that held exactly as many, at no extra fetch.

Slices are not cut further into sub-slices with a quota each. That would look more even in
time, but a fixed quota per sub-slice favours a slice's quiet seconds over its bursts, and
costs one search per sub-slice; the pick by trace id already follows the traffic within a
slice. Shorter slices give a finer spread.

Neighbouring slices share their boundary second, and a slice hands on only the traces that
start in it, as in the exhaustive pull (``tempo_window.keeps``): no trace is fetched twice,
and no set of ids grows with the window. A slice whose search also found traces that started
before it (or in its last, shared second) may therefore take a few fewer than it could.

What Tempo does not say is how many traces a slice held. The ``metrics`` of a 2.10.8 TraceQL
search carry ``inspectedBytes`` and block and job counts but no ``inspectedTraces`` (see the
recorded ``search_all.json``), and a full search stops early (1 of 4 jobs completed there), so
they tell how far Tempo looked, not how many traces matched. A sampled pull reports what it
knows: per slice, the traces taken and whether there were more (``PullProgress``). Exact
counts over a window come from Tempo itself, by TraceQL metrics over a pattern's matchers.

Errors and early closing are those of the exhaustive pull: see ``tempo_window.fetch_traces``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass

from connectors.spans import Span
from connectors.tempo_window import (
    MAX_SEARCH_WINDOW_S,
    FetchTrace,
    ProgressCallback,
    PullProgress,
    Search,
    Slice,
    SliceSample,
    fetch_traces,
    keeps,
)


@dataclass(frozen=True)
class SamplePlan:
    """At most ``traces_per_slice`` traces from each slice of about ``slice_s`` seconds."""

    slice_s: int
    traces_per_slice: int

    def __post_init__(self) -> None:
        if self.slice_s < 1:
            raise ValueError(f"a sampling slice lasts at least 1 s, not {self.slice_s}")
        if self.traces_per_slice < 1:
            raise ValueError(
                f"a sampling slice gives at least 1 trace, not {self.traces_per_slice}"
            )


def slice_count(start_s: int, end_s: int, slice_s: int) -> int:
    """How many slices a sampled pull cuts ``[start_s, end_s]`` into."""
    width = end_s - start_s
    nearest = (width + slice_s // 2) // slice_s
    return max(1, nearest, -(-width // MAX_SEARCH_WINDOW_S))


def sample_slices(
    start_s: int, end_s: int, plan: SamplePlan, *, before: bool = True, at_end: bool = True
) -> Iterator[Slice]:
    """The window as equal whole-second slices, oldest first, each to be searched once
    (``before`` and ``at_end`` as for ``connectors.tempo_window.initial_slices``)."""
    if end_s <= start_s:
        raise ValueError(f"the window's end ({end_s}) must be after its start ({start_s})")
    count = slice_count(start_s, end_s, plan.slice_s)
    width = end_s - start_s
    for index in range(count):
        lower = start_s + index * width // count
        upper = start_s + (index + 1) * width // count
        yield Slice(
            lower,
            upper,
            plan.traces_per_slice + 1,
            first=index == 0 and before,
            last=index == count - 1 and at_end,
        )


async def sampled_trace_ids(
    search: Search,
    start_s: int,
    end_s: int,
    plan: SamplePlan,
    progress: PullProgress,
    *,
    before: bool = True,
    at_end: bool = True,
) -> AsyncGenerator[str, None]:
    """The ids of the window's sample, slice by slice, oldest slice first."""
    progress.slices = slice_count(start_s, end_s, plan.slice_s)
    unplaced: set[str] = set()
    for piece in sample_slices(start_s, end_s, plan, before=before, at_end=at_end):
        result = await search(piece.start_s, piece.end_s, piece.limit)
        progress.searches += 1
        taken: list[str] = []
        for summary in sorted(result.traces, key=lambda found: found.trace_id):
            if len(taken) == plan.traces_per_slice:
                break
            if keeps(piece, summary, unplaced):
                taken.append(summary.trace_id)
        full = len(result.traces) > plan.traces_per_slice
        progress.slice_samples.append(SliceSample(piece.start_s, piece.end_s, len(taken), full))
        progress.slices_full += full
        for trace_id in taken:
            progress.traces_found += 1
            yield trace_id


def pull_sample(
    search: Search,
    fetch: FetchTrace,
    *,
    start_s: int,
    end_s: int,
    plan: SamplePlan,
    concurrency: int,
    on_progress: ProgressCallback | None = None,
    before: bool = True,
    at_end: bool = True,
) -> AsyncGenerator[tuple[str, list[Span]], None]:
    """Yield ``(trace_id, spans)`` for the window's sample, in no particular order."""
    progress = PullProgress()
    found = sampled_trace_ids(search, start_s, end_s, plan, progress, before=before, at_end=at_end)
    return fetch_traces(
        found, fetch, concurrency=concurrency, progress=progress, on_progress=on_progress
    )
