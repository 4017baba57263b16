"""Sampling a window: one search per equal slice, the lowest trace ids, no trace twice."""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connectors.tempo import TempoClient
from connectors.tempo_errors import TempoError, TempoTimeout, TempoUnavailable
from connectors.tempo_sample import SamplePlan, sample_slices
from connectors.tempo_window import MAX_SEARCH_WINDOW_S, PullProgress, SliceSample
from tests.connectors.conftest import BASE, WAVE1, WINDOW, fake_http

pytestmark = pytest.mark.anyio


async def pull_sample(
    tempo: TempoClient, window: tuple[int, int], plan: SamplePlan
) -> tuple[list[str], PullProgress]:
    """The ids pulled, in the order they came, and the last progress reported."""
    reports: list[PullProgress] = []
    pulled = []
    async with tempo:
        async for trace_id, spans in tempo.pull(
            "{}", start=window[0], end=window[1], sample=plan, on_progress=reports.append
        ):
            assert {span.trace_id for span in spans} == {trace_id}
            pulled.append(trace_id)
    return pulled, reports[-1]


def start_s(trace: dict[str, Any]) -> int:
    return int(trace["start_unix_nano"]) // 10**9


def placed(traces: list[dict[str, Any]], starts_ns: list[int]) -> list[dict[str, Any]]:
    """The traces moved to the given start times, each lasting a millisecond."""
    for trace, start_ns in zip(traces, starts_ns, strict=True):
        trace["start_unix_nano"] = str(start_ns)
        trace["duration_ms"] = 1.0
    return traces


# --- slices ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "slice_s", "bounds"),
    [
        ((0, 180), 60, [(0, 60), (60, 120), (120, 180)]),
        # A window shorter than a slice is one slice.
        ((0, 30), 60, [(0, 30)]),
        ((0, 1), 60, [(0, 1)]),
        # 89 s is nearer one slice of 60 s than two; 90 s is two of 45 s.
        ((0, 89), 60, [(0, 89)]),
        ((0, 90), 60, [(0, 45), (45, 90)]),
        # 100 s in about 30 s: three slices, a second apart at most.
        ((1000, 1100), 30, [(1000, 1033), (1033, 1066), (1066, 1100)]),
        ((5, 8), 1, [(5, 6), (6, 7), (7, 8)]),
        # One slice of 1.4 weeks would be more than Tempo searches at once.
        ((0, 846_720), MAX_SEARCH_WINDOW_S, [(0, 423_360), (423_360, 846_720)]),
    ],
)
def test_the_window_is_cut_into_equal_whole_second_slices(
    window: tuple[int, int], slice_s: int, bounds: list[tuple[int, int]]
) -> None:
    slices = list(sample_slices(*window, SamplePlan(slice_s=slice_s, traces_per_slice=20)))
    assert [(piece.start_s, piece.end_s) for piece in slices] == bounds


def test_slices_search_for_one_trace_more_than_they_take() -> None:
    slices = list(sample_slices(0, 180, SamplePlan(slice_s=60, traces_per_slice=20)))
    assert [piece.limit for piece in slices] == [21, 21, 21]
    assert [(piece.first, piece.last) for piece in slices] == [
        (True, False),
        (False, False),
        (False, True),
    ]


@pytest.mark.parametrize(("slice_s", "traces_per_slice"), [(0, 20), (60, 0), (-1, 5)])
def test_a_plan_takes_at_least_one_trace_from_slices_of_at_least_a_second(
    slice_s: int, traces_per_slice: int
) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SamplePlan(slice_s=slice_s, traces_per_slice=traces_per_slice)


# --- pulling a sample ------------------------------------------------------------------


async def test_each_slice_is_searched_once_and_gives_its_lowest_trace_ids(
    tempo_manifest: Callable[..., Any],
    fake_tempo: Callable[..., Any],
    client: Callable[..., TempoClient],
) -> None:
    manifest = tempo_manifest(WAVE1)
    fake = fake_tempo(manifest)
    with fake_http() as router:
        fake.mount(router, BASE)
        pulled, progress = await pull_sample(client(), WINDOW, SamplePlan(60, 20))

    # 920 s in about 60 s: 15 slices of 61 or 62 s, end to end, each searched once.
    assert len(fake.searches) == 15
    assert fake.searches[0][0] == WINDOW[0] and fake.searches[-1][1] == WINDOW[1]
    for (_, end, _), (start, _, _) in zip(fake.searches, fake.searches[1:], strict=False):
        assert start == end
    assert {end - start for start, end, _ in fake.searches} == {61, 62}
    assert {limit for _, _, limit in fake.searches} == {21}

    assert len(pulled) == len(set(pulled)) == 260
    assert set(fake.fetches.values()) == {1}
    by_id = {t["trace_id"]: t for t in manifest}
    for start, end, _ in fake.searches:
        starting_here = sorted(t["trace_id"] for t in manifest if start <= start_s(t) < end)
        taken = sorted(i for i in pulled if start <= start_s(by_id[i]) < end)
        # Tempo's pick: the lowest trace ids of the slice, which are random in time.
        assert taken == starting_here[:20]
        if len(taken) == 20:
            middle = (start + end) / 2
            starts = [int(by_id[i]["start_unix_nano"]) / 1e9 for i in taken]
            assert min(starts) < middle < max(starts), "the pick bunches in half the slice"

    # Wave 1 ends in the 13th slice: the last two are empty.
    assert progress.slice_samples == [
        SliceSample(start, end, 20 if i < 13 else 0, full=i < 13)
        for i, (start, end, _) in enumerate(fake.searches)
    ]
    assert (progress.slices, progress.slices_full, progress.searches) == (15, 13, 15)
    assert (progress.traces_found, progress.traces_done) == (260, 260)
    assert progress.spans_done == 260 * fake.TEMPLATE_SPANS
    assert progress.searching is False


async def test_a_slice_with_more_traces_than_taken_is_full_and_one_with_as_many_is_not(
    tempo_manifest: Callable[..., Any],
    fake_tempo: Callable[..., Any],
    client: Callable[..., TempoClient],
) -> None:
    traces = tempo_manifest(WAVE1)[:41]
    # 20 traces start in [1000, 1060), 21 in [1060, 1120), none in [1120, 1180).
    starts = [(1005 + i * 2) * 10**9 for i in range(20)] + [
        (1065 + i * 2) * 10**9 for i in range(21)
    ]
    fake = fake_tempo(placed(traces, starts))
    with fake_http() as router:
        fake.mount(router, BASE)
        pulled, progress = await pull_sample(client(), (1000, 1180), SamplePlan(60, 20))

    assert progress.slice_samples == [
        SliceSample(1000, 1060, 20, full=False),
        SliceSample(1060, 1120, 20, full=True),
        SliceSample(1120, 1180, 0, full=False),
    ]
    assert progress.slices_full == 1
    second = sorted(t["trace_id"] for t in traces[20:])
    assert set(pulled) == {t["trace_id"] for t in traces[:20]} | set(second[:20])


async def test_no_trace_is_fetched_twice_across_slice_boundaries(
    tempo_manifest: Callable[..., Any],
    fake_tempo: Callable[..., Any],
    client: Callable[..., TempoClient],
) -> None:
    manifest = tempo_manifest(WAVE1)
    start, end = 1795274100, 1795274130  # three slices of 10 s, some 40 traces each
    # Traces that reach over the boundaries at 1795274110 and 1795274120: one starts on a
    # boundary, one a moment before the next, one spans every slice.
    crossing = {
        0: (1795274110 * 10**9, 300.0),
        1: (1795274119 * 10**9 + 900_000_000, 2_000.0),
        2: (1795274101 * 10**9, 25_000.0),
    }
    early = 3  # began before the window and reaches into it: the first slice's
    for index, (start_ns, duration_ms) in {
        **crossing,
        early: (1795274098 * 10**9, 4_000.0),
    }.items():
        manifest[index]["start_unix_nano"] = str(start_ns)
        manifest[index]["duration_ms"] = duration_ms
    fake = fake_tempo(manifest)
    expected = {t["trace_id"] for t in fake.overlapping(start, end)}
    with fake_http() as router:
        fake.mount(router, BASE)
        pulled, progress = await pull_sample(client(), (start, end), SamplePlan(10, 100))

    assert [s[:2] for s in fake.searches] == [
        (start, start + 10),
        (start + 10, start + 20),
        (start + 20, end),
    ]
    # The searches found several traces twice, at the boundaries ...
    twice = {i for i, n in Counter(i for ids in fake.answers for i in ids).items() if n > 1}
    assert {manifest[i]["trace_id"] for i in crossing} <= twice
    # ... and each was still fetched once: the sample of slices that were not full is the
    # whole window.
    assert len(pulled) == len(set(pulled)) == len(expected)
    assert set(pulled) == expected
    assert manifest[early]["trace_id"] in expected
    assert set(fake.fetches.values()) == {1}
    assert progress.slices_full == 0


async def test_closing_a_sample_early_stops_its_searches_and_fetches(
    tempo_manifest: Callable[..., Any],
    fake_tempo: Callable[..., Any],
    client: Callable[..., TempoClient],
) -> None:
    fake = fake_tempo(tempo_manifest(WAVE1))
    with fake_http() as router:
        fake.mount(router, BASE)
        async with client(concurrency=4) as tempo:
            traces = tempo.pull("{}", start=WINDOW[0], end=WINDOW[1], sample=SamplePlan(60, 20))
            async with contextlib.aclosing(traces):
                async for _ in traces:
                    break
    assert len(fake.searches) < 3
    assert sum(fake.fetches.values()) < 20
    assert fake.in_flight == 0


def test_a_pull_takes_a_search_limit_or_a_sample_plan_not_both(
    client: Callable[..., TempoClient],
) -> None:
    with pytest.raises(ValueError, match="not limit"):
        client().pull("{}", start=0, end=60, limit=100, sample=SamplePlan(60, 20))


# --- Tempo failing midway --------------------------------------------------------------


def failing_third_search(
    fake: Any, failure: Callable[[httpx.Request], httpx.Response]
) -> tuple[Callable[[httpx.Request], httpx.Response], list[int]]:
    """A search answer that fails for the third slice and asks the fake for the others."""
    third_slice_tries: list[int] = []

    def search(request: httpx.Request) -> httpx.Response:
        if len(fake.searches) == 2:
            third_slice_tries.append(int(request.url.params["start"]))
            return failure(request)
        response: httpx.Response = fake.search(request)
        return response

    return search, third_slice_tries


def too_many_requests(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(429, text="job queue full", headers={"Retry-After": "0"})


def querier_down(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(500, text="querier crashed")


def timed_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


@pytest.mark.parametrize(
    ("failure", "error", "message"),
    [
        (too_many_requests, TempoUnavailable, "429 Too Many Requests (tried 3 times): job queue"),
        (querier_down, TempoUnavailable, "500 Internal Server Error (tried 3 times): querier"),
        (timed_out, TempoTimeout, "did not answer within 5 s (3 attempts): narrow the time"),
    ],
)
async def test_a_search_still_failing_after_the_retries_ends_the_sample(
    failure: Callable[[httpx.Request], httpx.Response],
    error: type[TempoError],
    message: str,
    tempo_manifest: Callable[..., Any],
    fake_tempo: Callable[..., Any],
    client: Callable[..., TempoClient],
) -> None:
    fake = fake_tempo(tempo_manifest(WAVE1))
    search, third_slice_tries = failing_third_search(fake, failure)
    with fake_http() as router:
        fake.mount(router, BASE)
        router.get(f"{BASE}/api/search").mock(side_effect=search)  # replaces the fake's route
        with pytest.raises(error, match=re.escape(message)):
            await pull_sample(client(max_retries=2), WINDOW, SamplePlan(60, 20))

    assert len(third_slice_tries) == 3 and len(set(third_slice_tries)) == 1
    assert len(fake.searches) == 2  # no later slice was searched


async def test_a_search_that_passes_on_retry_keeps_the_sample_whole(
    tempo_manifest: Callable[..., Any],
    fake_tempo: Callable[..., Any],
    client: Callable[..., TempoClient],
) -> None:
    fake = fake_tempo(tempo_manifest(WAVE1))
    refused: list[int] = []

    def once(request: httpx.Request) -> httpx.Response:
        if len(fake.searches) == 2 and not refused:
            refused.append(int(request.url.params["start"]))
            return too_many_requests(request)
        response: httpx.Response = fake.search(request)
        return response

    with fake_http() as router:
        fake.mount(router, BASE)
        router.get(f"{BASE}/api/search").mock(side_effect=once)
        pulled, progress = await pull_sample(client(max_retries=1), WINDOW, SamplePlan(60, 20))

    assert refused == [WINDOW[0] + 2 * 920 // 15]  # the third slice, asked twice
    assert len(pulled) == 260 and progress.searches == 15


async def test_a_fetch_still_failing_after_the_retries_ends_the_sample(
    tempo_manifest: Callable[..., Any],
    fake_tempo: Callable[..., Any],
    client: Callable[..., TempoClient],
) -> None:
    fake = fake_tempo(tempo_manifest(WAVE1))
    with fake_http() as router:
        router.get(url__regex=rf"^{BASE}/api/v2/traces/").respond(503, text="ingester restarting")
        fake.mount(router, BASE)
        with pytest.raises(TempoUnavailable, match="503 Service Unavailable.*ingester"):
            await pull_sample(client(max_retries=1), WINDOW, SamplePlan(60, 20))
