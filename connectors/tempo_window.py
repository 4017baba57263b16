"""Pulling every trace of a time window out of Tempo, which has no cursor.

A Tempo search returns at most ``limit`` traces, and which ones it keeps when more match is
up to Tempo (2.10.8 keeps the lowest trace ids, not the newest). So a search that comes back
full says nothing about what it left out. The window is therefore split in halves until every
slice comes back with fewer than ``limit`` traces: such a slice is complete. Tempo's
``start``/``end`` are whole seconds, so a one-second slice that is still full is searched
again with a doubled limit instead.

Neighbouring slices share their boundary second (``[a, m]`` and ``[m, b]``), so no trace can
fall between them whatever Tempo's boundary rule. Duplicates are avoided without remembering
every id: a slice keeps only the traces that *start* in it (``a <= start_s < b``; the first
slice also keeps traces that began before the window, the last one those starting at its
end). Every trace starting in the window thus has exactly one owner, and the memory a pull
needs does not grow with the window. Only the rare summary without a start time falls back
to a set of ids.

Found traces are fetched by id while the search goes on, at most ``concurrency`` at a time
(an ``asyncio.Semaphore``), and handed on as they arrive through a bounded queue. That part,
``fetch_traces``, takes any stream of trace ids: the sampled pull of ``connectors.tempo_sample``
uses it too, with the same slices and ownership rule but one search per slice.

One assumption: Tempo honours ``limit``. Older Tempo versions silently lower it to the query
frontend's ``max_result_limit``; keep the search limit at or below that setting.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from connectors.otlp import DecodedBatch
from connectors.spans import Span
from connectors.tempo_errors import TempoError, TraceNotFound
from connectors.tempo_models import SearchResult, TraceSummary

MAX_SEARCH_WINDOW_S = 168 * 3600
"""Tempo refuses longer searches by default (``max_duration``), so windows start this small."""

Search = Callable[[int, int, int], Awaitable[SearchResult]]
"""``search(start_s, end_s, limit)`` for the pull's query."""
FetchTrace = Callable[[str], Awaitable[DecodedBatch]]


@dataclass(frozen=True)
class SliceSample:
    """What the one search of a sampled pull's slice gave."""

    start_s: int
    end_s: int
    taken: int
    """Traces handed on to be fetched: those that start in this slice, at most the plan's."""
    full: bool
    """Tempo found more traces than were taken: the slice held more than the sample."""


FAILED_FREE = 10
FAILED_SHARE = 1.0
"""A pull lets traces that cannot be fetched go until more than ``FAILED_FREE`` failed and
failures outnumber ``FAILED_SHARE`` times the traces fetched."""


@dataclass
class PullProgress:
    """Counts a pull reports after each search and each fetched trace."""

    traces_done: int = 0
    spans_done: int = 0
    traces_found: int = 0
    """Traces the searches found so far; grows until the last slice is searched."""
    searches: int = 0
    traces_missing: int = 0
    """Found by search but gone when fetched (retention or compaction in between)."""
    spans_rejected: int = 0
    searching: bool = True
    """False once the last slice was searched and ``traces_found`` is final."""
    slices: int = 0
    """Sampled pulls only: how many slices the window was cut into."""
    slices_full: int = 0
    """Sampled pulls only: slices searched so far that held more traces than were taken."""
    traces_failed: list[tuple[str, str]] = field(default_factory=list)
    """Traces that could not be fetched after the client's retries, and why: the pull goes
    on without them (``FAILED_SHARE`` bounds how many it lets go)."""
    slice_samples: list[SliceSample] = field(default_factory=list)
    """Sampled pulls only: one entry per slice searched so far, oldest first. It grows with
    the number of slices (one search each), not with the number of traces."""


ProgressCallback = Callable[[PullProgress], None]


@dataclass(frozen=True)
class Slice:
    start_s: int
    end_s: int
    limit: int
    first: bool
    last: bool

    def owns(self, start_unix_nano: int) -> bool:
        start_s = start_unix_nano // 1_000_000_000
        return (self.first or start_s >= self.start_s) and (self.last or start_s < self.end_s)

    def halves(self) -> tuple[Slice, Slice]:
        middle = (self.start_s + self.end_s) // 2
        return (
            Slice(self.start_s, middle, self.limit, self.first, False),
            Slice(middle, self.end_s, self.limit, False, self.last),
        )


def keeps(piece: Slice, summary: TraceSummary, unplaced: set[str]) -> bool:
    """Whether ``piece`` hands on a trace its search found, so that no trace comes twice.

    A trace is handed on by the slice it starts in; one without a start time by the first
    slice that finds it, remembered in ``unplaced``.
    """
    if summary.start_unix_nano > 0:
        return piece.owns(summary.start_unix_nano)
    if summary.trace_id in unplaced:
        return False
    unplaced.add(summary.trace_id)
    return True


def initial_slices(
    start_s: int, end_s: int, limit: int, *, before: bool = True, at_end: bool = True
) -> Iterator[Slice]:
    """The window cut into searchable pieces, oldest first. ``before``: the first piece
    also owns traces that began before the window; ``at_end``: the last one those starting
    in its last second. Without both, the window owns the traces starting in ``[start,
    end)``: what a pull next to a window pulled before must keep to (``app.discovery
    .counted``)."""
    if end_s <= start_s:
        raise ValueError(f"the window's end ({end_s}) must be after its start ({start_s})")
    if limit < 1:
        raise ValueError(f"the search limit must be at least 1, not {limit}")
    lower = start_s
    while lower < end_s:
        upper = min(lower + MAX_SEARCH_WINDOW_S, end_s)
        first, last = lower == start_s and before, upper == end_s and at_end
        yield Slice(lower, upper, limit, first=first, last=last)
        lower = upper


async def owned_trace_ids(
    search: Search,
    start_s: int,
    end_s: int,
    limit: int,
    progress: PullProgress,
    *,
    before: bool = True,
    at_end: bool = True,
) -> AsyncGenerator[str, None]:
    """Every trace id of the window once, slice by slice, oldest slice first."""
    pending = list(initial_slices(start_s, end_s, limit, before=before, at_end=at_end))
    pending.reverse()
    unplaced: set[str] = set()
    while pending:
        piece = pending.pop()
        result = await search(piece.start_s, piece.end_s, piece.limit)
        progress.searches += 1
        if len(result.traces) >= piece.limit:
            if piece.end_s - piece.start_s > 1:
                earlier, later = piece.halves()
                pending.extend((later, earlier))
            else:
                pending.append(
                    Slice(piece.start_s, piece.end_s, piece.limit * 2, piece.first, piece.last)
                )
            continue
        for summary in result.traces:
            if keeps(piece, summary, unplaced):
                progress.traces_found += 1
                yield summary.trace_id


def pull_window(
    search: Search,
    fetch: FetchTrace,
    *,
    start_s: int,
    end_s: int,
    limit: int,
    concurrency: int,
    on_progress: ProgressCallback | None = None,
    before: bool = True,
    at_end: bool = True,
) -> AsyncGenerator[tuple[str, list[Span]], None]:
    """Yield ``(trace_id, spans)`` for every trace of the window, in no particular order.

    See ``fetch_traces`` for errors and for closing the pull early, ``initial_slices`` for
    ``before`` and ``at_end``.
    """
    progress = PullProgress()
    found = owned_trace_ids(search, start_s, end_s, limit, progress, before=before, at_end=at_end)
    return fetch_traces(
        found, fetch, concurrency=concurrency, progress=progress, on_progress=on_progress
    )


async def fetch_traces(
    trace_ids: AsyncGenerator[str, None],
    fetch: FetchTrace,
    *,
    concurrency: int,
    progress: PullProgress,
    on_progress: ProgressCallback | None = None,
) -> AsyncGenerator[tuple[str, list[Span]], None]:
    """Fetch each id of ``trace_ids`` and yield ``(trace_id, spans)`` as fetches finish.

    ``trace_ids`` searches as it goes and counts its searches into ``progress``, which this
    completes with the fetches and hands to ``on_progress``. At most ``concurrency`` fetches
    run at a time and at most ``concurrency`` fetched traces wait for the consumer; while the
    fetches are all busy, ``trace_ids`` is not asked for more, so the searches wait too.

    Errors of a search end the pull and are raised here. A fetch that still fails after the
    client's retries is listed in ``traces_failed`` and the pull goes on, unless most fetches
    fail (``FAILED_SHARE``, past ``FAILED_FREE``): then Tempo itself is failing, and its
    error ends the pull. A trace that vanished between search and fetch is counted in
    ``traces_missing`` and skipped. Closing the
    iterator early (``contextlib.aclosing``) cancels the searches and fetches still running.
    """
    report = on_progress or (lambda _progress: None)
    results: asyncio.Queue[tuple[str, list[Span]] | BaseException | None] = asyncio.Queue(
        maxsize=concurrency
    )

    async def fetch_one(trace_id: str) -> None:
        try:
            batch = await fetch(trace_id)
        except TraceNotFound:
            progress.traces_missing += 1
            report(progress)
            return
        except TempoError as exc:
            failed = progress.traces_failed
            failed.append((trace_id, str(exc)))
            if len(failed) > FAILED_FREE and len(failed) > FAILED_SHARE * progress.traces_done:
                await results.put(exc)  # most fetches fail: Tempo is failing, not a trace
            report(progress)
            return
        except Exception as exc:  # handed to the consumer, which raises it
            await results.put(exc)
            return
        progress.traces_done += 1
        progress.spans_done += len(batch.spans)
        progress.spans_rejected += len(batch.rejected)
        report(progress)
        await results.put((trace_id, batch.spans))

    async def produce() -> None:
        slots = asyncio.Semaphore(concurrency)
        running: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            running.discard(task)
            slots.release()

        try:
            async with contextlib.aclosing(trace_ids):
                async for trace_id in trace_ids:
                    report(progress)
                    await slots.acquire()
                    task = asyncio.create_task(fetch_one(trace_id))
                    running.add(task)
                    task.add_done_callback(finished)
            progress.searching = False
            report(progress)
            while running:
                await asyncio.wait(set(running))
            await results.put(None)
        except Exception as exc:
            await results.put(exc)
        finally:
            leftover = list(running)
            for task in leftover:
                task.cancel()
            await asyncio.gather(*leftover, return_exceptions=True)

    producer = asyncio.create_task(produce())
    try:
        while (item := await results.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer
