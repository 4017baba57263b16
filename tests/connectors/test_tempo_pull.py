"""Pulling a whole window: every trace exactly once, however small the search limit."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from connectors.tempo import TempoClient
from connectors.tempo_errors import TempoUnavailable
from connectors.tempo_models import SearchResult
from connectors.tempo_window import PullProgress, Slice, initial_slices, owned_trace_ids
from tests.connectors.conftest import BASE, WAVE1, WINDOW, fake_http

pytestmark = pytest.mark.anyio


async def pull_all(
    tempo: TempoClient, start: int, end: int, limit: int, progress: list[PullProgress] | None = None
) -> list[tuple[str, int]]:
    def remember(counts: PullProgress) -> None:
        if progress is not None:
            progress.append(PullProgress(**vars(counts)))

    pulled = []
    async with tempo:
        async for trace_id, spans in tempo.pull(
            "{}", start=start, end=end, limit=limit, on_progress=remember
        ):
            assert {span.trace_id for span in spans} == {trace_id}
            pulled.append((trace_id, len(spans)))
    return pulled


@pytest.mark.parametrize("limit", [20, 77, 500])
async def test_the_searches_find_every_manifest_trace_once_whatever_the_limit(
    limit: int,
    tempo_manifest: Callable[..., Any],
    fake_tempo: Callable[..., Any],
    client: Callable[..., TempoClient],
) -> None:
    manifest = tempo_manifest(WAVE1)
    fake = fake_tempo(manifest)
    progress = PullProgress()
    with fake_http() as router:
        fake.mount(router, BASE)
        async with client() as tempo:

            async def search(start: int, end: int, slice_limit: int) -> SearchResult:
                return await tempo.search("{}", start=start, end=end, limit=slice_limit)

            found = [
                trace_id async for trace_id in owned_trace_ids(search, *WINDOW, limit, progress)
            ]

    assert len(found) == 3000
    assert set(found) == {t["trace_id"] for t in manifest}
    assert progress.searches == len(fake.searches) > 3000 // limit
    # Complete slices share their boundary second, so some traces came back from two of
    # them; each was still found once.
    complete = [
        ids
        for ids, (_, _, asked) in zip(fake.answers, fake.searches, strict=True)
        if len(ids) < asked
    ]
    assert max(Counter(trace_id for ids in complete for trace_id in ids).values()) > 1


# A pull fetches its 3000 traces through httpx and respx in about 2 s, so the whole pull runs
# once, with the limit that splits the window most; the test above covers other limits.
@pytest.mark.parametrize("limit", [20])
async def test_pull_fetches_every_manifest_trace_exactly_once(
    limit: int,
    tempo_manifest: Callable[..., Any],
    fake_tempo: Callable[..., Any],
    client: Callable[..., TempoClient],
) -> None:
    manifest = tempo_manifest(WAVE1)
    fake = fake_tempo(manifest)
    progress: list[PullProgress] = []
    with fake_http() as router:
        fake.mount(router, BASE)
        pulled = await pull_all(client(concurrency=4), *WINDOW, limit, progress)

    pulled_ids = [trace_id for trace_id, _ in pulled]
    assert len(pulled_ids) == len(manifest) == 3000
    assert set(pulled_ids) == {t["trace_id"] for t in manifest}
    assert set(fake.fetches.values()) == {1}  # no trace fetched twice
    assert all(span_count == fake.TEMPLATE_SPANS for _, span_count in pulled)
    assert 1 < fake.max_in_flight <= 4
    assert all(search_limit == limit for _, _, search_limit in fake.searches)
    final = progress[-1]
    assert (final.traces_done, final.traces_found, final.spans_done) == (3000, 3000, 18000)
    assert final.searching is False and final.searches == len(fake.searches)
    # Progress only grows, and never reports more done than found.
    assert all(p.traces_done <= p.traces_found for p in progress)
    assert [p.traces_done for p in progress] == sorted(p.traces_done for p in progress)


async def test_a_second_with_more_traces_than_the_limit_is_searched_with_a_higher_limit(
    tempo_manifest: Callable[..., Any],
    fake_tempo: Callable[..., Any],
    client: Callable[..., TempoClient],
) -> None:
    manifest = tempo_manifest(WAVE1)
    crowded_second = 1795274000
    # 45 traces all starting within one second; a limit of 20 cannot hold them.
    for offset, trace in enumerate(manifest[:45]):
        trace["start_unix_nano"] = str(crowded_second * 10**9 + offset * 1000)
        trace["duration_ms"] = 1.0
    fake = fake_tempo(manifest)
    start, end = crowded_second - 30, crowded_second + 30
    expected = {t["trace_id"] for t in fake.overlapping(start, end)}
    with fake_http() as router:
        fake.mount(router, BASE)
        pulled = await pull_all(client(), start, end, 20)

    assert {t["trace_id"] for t in manifest[:45]} <= expected
    assert sorted(trace_id for trace_id, _ in pulled) == sorted(expected)
    raised = [s for s in fake.searches if s[2] > 20]
    assert raised, "the crowded second was never searched with a higher limit"
    assert all(end - start == 1 for start, end, _ in raised)
    assert max(limit for _, _, limit in raised) == 80  # 20 -> 40 -> 80 holds 45 (and neighbours)


async def test_a_sub_window_yields_the_traces_tempo_finds_in_it(
    tempo_manifest: Callable[..., Any],
    fake_tempo: Callable[..., Any],
    client: Callable[..., TempoClient],
) -> None:
    manifest = tempo_manifest(WAVE1)
    fake = fake_tempo(manifest)
    start, end = 1795274100, 1795274160
    expected = {t["trace_id"] for t in fake.overlapping(start, end)}
    with fake_http() as router:
        fake.mount(router, BASE)
        pulled = await pull_all(client(), start, end, 37)

    assert 150 < len(expected) < 250
    assert sorted(trace_id for trace_id, _ in pulled) == sorted(expected)


async def test_a_trace_gone_between_search_and_fetch_is_counted_and_skipped(
    tempo_manifest: Callable[..., Any],
    fake_tempo: Callable[..., Any],
    client: Callable[..., TempoClient],
) -> None:
    manifest = tempo_manifest(WAVE1)
    fake = fake_tempo(manifest)
    start, end = 1795274100, 1795274130
    in_window = [t["trace_id"] for t in fake.overlapping(start, end)]
    fake.vanished = {in_window[0]}
    progress: list[PullProgress] = []
    with fake_http() as router:
        fake.mount(router, BASE)
        pulled = await pull_all(client(), start, end, 50, progress)

    assert {trace_id for trace_id, _ in pulled} == set(in_window[1:])
    assert progress[-1].traces_missing == 1


async def test_a_failing_fetch_ends_the_pull_with_its_error(
    tempo_manifest: Callable[..., Any],
    fake_tempo: Callable[..., Any],
    client: Callable[..., TempoClient],
) -> None:
    fake = fake_tempo(tempo_manifest(WAVE1))
    with fake_http() as router:
        router.get(url__regex=rf"^{BASE}/api/v2/traces/").respond(500, text="querier crashed")
        fake.mount(router, BASE)  # routes match in order: the failing by-id route wins
        with pytest.raises(TempoUnavailable, match="querier crashed"):
            await pull_all(client(max_retries=0), *WINDOW, 500)


async def test_closing_the_pull_early_stops_fetching(
    tempo_manifest: Callable[..., Any],
    fake_tempo: Callable[..., Any],
    client: Callable[..., TempoClient],
) -> None:
    fake = fake_tempo(tempo_manifest(WAVE1))
    with fake_http() as router:
        fake.mount(router, BASE)
        async with client(concurrency=4) as tempo:
            traces = tempo.pull("{}", start=WINDOW[0], end=WINDOW[1], limit=500)
            async with contextlib.aclosing(traces):
                async for _ in traces:
                    break
    # One trace taken; a few more were in flight or queued; nothing else was fetched.
    assert sum(fake.fetches.values()) < 20
    assert fake.in_flight == 0


def test_a_window_that_ends_before_it_starts_is_refused(client: Callable[..., TempoClient]) -> None:
    with pytest.raises(ValueError, match="must be after its start"):
        client().pull("{}", start=100, end=100)


@pytest.mark.parametrize(
    ("piece", "start_s", "owned"),
    [
        (Slice(100, 200, 20, first=False, last=False), 100, True),
        (Slice(100, 200, 20, first=False, last=False), 199, True),
        # The boundary second belongs to the next slice, which shares it.
        (Slice(100, 200, 20, first=False, last=False), 200, False),
        (Slice(100, 200, 20, first=False, last=False), 99, False),
        # The first slice also keeps traces that began before the window and reach into it.
        (Slice(100, 200, 20, first=True, last=False), 50, True),
        # The last slice keeps a trace starting in its final second.
        (Slice(100, 200, 20, first=False, last=True), 200, True),
    ],
)
def test_each_trace_start_has_one_owning_slice(piece: Slice, start_s: int, owned: bool) -> None:
    assert piece.owns(start_s * 10**9 + 500_000_000) is owned


def test_windows_longer_than_tempos_max_duration_start_as_several_slices() -> None:
    week = 168 * 3600
    slices = list(initial_slices(0, 2 * week + 10, 20))
    assert [(s.start_s, s.end_s) for s in slices] == [
        (0, week),
        (week, 2 * week),
        (2 * week, 2 * week + 10),
    ]
    assert [(s.first, s.last) for s in slices] == [(True, False), (False, False), (False, True)]


def test_halves_share_the_middle_second_and_shrink() -> None:
    earlier, later = Slice(100, 103, 20, first=True, last=True).halves()
    assert (earlier.start_s, earlier.end_s, earlier.first, earlier.last) == (100, 101, True, False)
    assert (later.start_s, later.end_s, later.first, later.last) == (101, 103, False, True)
