"""Retries of 429, 5xx and broken reads; fast failure when nothing listens. Nobody sleeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
import respx

from connectors.tempo import TempoClient
from connectors.tempo_errors import (
    TempoConnectionError,
    TempoQueryError,
    TempoResponseError,
    TempoTimeout,
    TempoUnavailable,
)
from connectors.tempo_retry import RetryPolicy, retry_after_s

pytestmark = pytest.mark.anyio

NOW = 1795274958.0


class Sleeps:
    """The injected sleep: remembers each wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def client(tempo_client: Callable[..., TempoClient]) -> Callable[..., TempoClient]:
    """``client(sleeps, max_retries=...)``: jitter pinned to its top, a 3 s timeout."""

    def make(sleeps: Sleeps, *, max_retries: int = 4) -> TempoClient:
        policy = RetryPolicy(
            max_retries=max_retries, sleep=sleeps, clock=lambda: NOW, random=lambda: 1
        )
        return tempo_client(retry=policy, timeout=3.0)

    return make


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        (" 120 ", 120.0),
        (format_datetime(datetime.fromtimestamp(NOW + 7, UTC), usegmt=True), 7.0),
        (format_datetime(datetime.fromtimestamp(NOW - 60, UTC), usegmt=True), 0.0),  # past
        ("soon", None),
        ("-1", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(
    header: str | None, seconds: float | None
) -> None:
    assert retry_after_s(header, now_s=NOW) == seconds


@pytest.mark.parametrize(
    ("retry", "random", "delay"),
    [
        (0, 0.0, 0.25),  # half the base, plus up to another half of jitter
        (0, 1.0, 0.5),
        (3, 0.0, 2.0),
        (3, 1.0, 4.0),
        (10, 1.0, 30.0),  # capped at max_delay_s
    ],
)
def test_backoff_doubles_with_jitter_and_a_cap(retry: int, random: float, delay: float) -> None:
    policy = RetryPolicy(random=lambda: random)
    assert policy.delay_s(retry) == delay


def test_a_retry_after_beyond_the_ceiling_is_capped() -> None:
    assert RetryPolicy(max_retry_after_s=60).delay_s(0, "3600") == 60


async def test_429_with_retry_after_is_retried_after_that_wait(
    recorded: Callable[[str], httpx.Response], tempo_url: str, client: Callable[..., TempoClient]
) -> None:
    sleeps = Sleeps()
    with respx.mock() as router:
        route = router.get(f"{tempo_url}/api/search").mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "3"}, text="too many queries"),
                recorded("search_all.json"),
            ]
        )
        async with client(sleeps) as tempo:
            result = await tempo.search("{}")

    assert len(result.traces) == 20
    assert route.call_count == 2
    assert sleeps.waits == [3.0]


async def test_503_with_an_http_date_waits_until_then(
    recorded: Callable[[str], httpx.Response], tempo_url: str, client: Callable[..., TempoClient]
) -> None:
    sleeps = Sleeps()
    when = format_datetime(datetime.fromtimestamp(NOW + 12, UTC), usegmt=True)
    with respx.mock() as router:
        router.get(f"{tempo_url}/api/status/buildinfo").mock(
            side_effect=[
                httpx.Response(503, headers={"Retry-After": when}),
                recorded("buildinfo.json"),
            ]
        )
        async with client(sleeps) as tempo:
            info = await tempo.build_info()

    assert info.version == "2.10.8"
    assert sleeps.waits == [12.0]


async def test_persistent_5xx_fails_after_max_retries_with_status_and_body(
    tempo_url: str, client: Callable[..., TempoClient]
) -> None:
    sleeps = Sleeps()
    with respx.mock() as router:
        route = router.get(f"{tempo_url}/api/search").respond(
            500, text="rpc error: code = Unavailable desc = querier not ready"
        )
        async with client(sleeps, max_retries=3) as tempo:
            with pytest.raises(TempoUnavailable) as caught:
                await tempo.search("{}")

    assert route.call_count == 4  # the first try and three retries
    assert sleeps.waits == [0.5, 1.0, 2.0]  # doubling, jitter pinned to its top
    error = caught.value
    assert (error.status, error.attempts) == (500, 4)
    assert "querier not ready" in error.body_excerpt
    assert "500 Internal Server Error (tried 4 times)" in str(error)


async def test_no_retries_means_one_try(tempo_url: str, client: Callable[..., TempoClient]) -> None:
    sleeps = Sleeps()
    with respx.mock() as router:
        route = router.get(f"{tempo_url}/api/search").respond(502)
        async with client(sleeps, max_retries=0) as tempo:
            with pytest.raises(TempoUnavailable, match="tried once"):
                await tempo.search("{}")

    assert route.call_count == 1 and sleeps.waits == []


async def test_a_400_is_never_retried(
    recorded: Callable[[str], httpx.Response], tempo_url: str, client: Callable[..., TempoClient]
) -> None:
    sleeps = Sleeps()
    with respx.mock() as router:
        route = router.get(f"{tempo_url}/api/search").mock(
            return_value=recorded("err_search_malformed_traceql.txt")
        )
        async with client(sleeps) as tempo:
            with pytest.raises(TempoQueryError):
                await tempo.search("{ status = }")

    assert route.call_count == 1 and sleeps.waits == []


async def test_a_read_timeout_is_retried(
    recorded: Callable[[str], httpx.Response], tempo_url: str, client: Callable[..., TempoClient]
) -> None:
    sleeps = Sleeps()
    with respx.mock() as router:
        router.get(f"{tempo_url}/api/search").mock(
            side_effect=[httpx.ReadTimeout("timed out"), recorded("search_all.json")]
        )
        async with client(sleeps) as tempo:
            result = await tempo.search("{}")

    assert len(result.traces) == 20 and len(sleeps.waits) == 1


async def test_read_timeouts_to_the_end_are_a_timeout_with_url_and_hint(
    tempo_url: str, client: Callable[..., TempoClient]
) -> None:
    sleeps = Sleeps()
    with respx.mock() as router:
        route = router.get(f"{tempo_url}/api/search").mock(side_effect=httpx.ReadTimeout("slow"))
        async with client(sleeps, max_retries=2) as tempo:
            with pytest.raises(TempoTimeout) as caught:
                await tempo.search("{}")

    assert route.call_count == 3
    message = str(caught.value)
    assert f"{tempo_url}/api/search" in message
    assert "3 s" in message and "SPANWISE_TEMPO_READ_TIMEOUT_S" in message


async def test_a_refused_connection_fails_at_once_with_a_hint(
    tempo_url: str, client: Callable[..., TempoClient]
) -> None:
    sleeps = Sleeps()
    with respx.mock() as router:
        route = router.get(f"{tempo_url}/api/echo").mock(
            side_effect=httpx.ConnectError("[Errno 111] Connection refused")
        )
        async with client(sleeps) as tempo:
            with pytest.raises(TempoConnectionError) as caught:
                await tempo.echo()

    assert route.call_count == 1 and sleeps.waits == []
    message = str(caught.value)
    assert f"{tempo_url}/api/echo" in message and "Connection refused" in message
    assert "SPANWISE_TEMPO_URL" in message


async def test_a_connect_timeout_fails_at_once_as_a_timeout(
    tempo_url: str, client: Callable[..., TempoClient]
) -> None:
    sleeps = Sleeps()
    with respx.mock() as router:
        route = router.get(f"{tempo_url}/api/echo").mock(side_effect=httpx.ConnectTimeout("slow"))
        async with client(sleeps) as tempo:
            with pytest.raises(TempoTimeout, match="could not connect"):
                await tempo.echo()

    assert route.call_count == 1


async def test_a_connection_broken_mid_answer_is_retried_then_reported(
    tempo_url: str, client: Callable[..., TempoClient]
) -> None:
    sleeps = Sleeps()
    with respx.mock() as router:
        route = router.get(f"{tempo_url}/api/echo").mock(
            side_effect=httpx.RemoteProtocolError("peer closed connection")
        )
        async with client(sleeps, max_retries=1) as tempo:
            with pytest.raises(TempoConnectionError, match="broke \\(2 attempts\\)"):
                await tempo.echo()

    assert route.call_count == 2


TRACE = "f943375e141b9098889277fecf2e45ef"


async def test_a_200_cut_short_is_asked_again_as_a_5xx_is(
    recorded: Callable[[str], httpx.Response], tempo_url: str, client: Callable[..., TempoClient]
) -> None:
    whole = recorded("trace_v2_checkout_slow.json")
    cut = httpx.Response(
        200, content=whole.content[: len(whole.content) // 2], headers=whole.headers
    )
    sleeps = Sleeps()
    with respx.mock() as router:
        route = router.get(f"{tempo_url}/api/v2/traces/{TRACE}").mock(side_effect=[cut, whole])
        async with client(sleeps) as tempo:
            batch = await tempo.trace(TRACE)
    assert batch.spans and route.call_count == 2 and len(sleeps.waits) == 1


async def test_a_200_cut_short_every_time_is_an_error_saying_so(
    recorded: Callable[[str], httpx.Response], tempo_url: str, client: Callable[..., TempoClient]
) -> None:
    whole = recorded("trace_v2_checkout_slow.json")
    cut = httpx.Response(200, content=whole.content[:100], headers=whole.headers)
    with respx.mock() as router:
        route = router.get(f"{tempo_url}/api/v2/traces/{TRACE}").mock(return_value=cut)
        async with client(Sleeps(), max_retries=2) as tempo:
            with pytest.raises(TempoResponseError) as caught:
                await tempo.trace(TRACE)
    assert route.call_count == 3
    assert f"trace {TRACE}" in str(caught.value) and "is not a trace" in str(caught.value)


async def test_a_connection_reset_is_retried_and_named_as_a_reset(
    tempo_url: str, client: Callable[..., TempoClient]
) -> None:
    sleeps = Sleeps()
    reset = httpx.ReadError("[Errno 104] Connection reset by peer")
    with respx.mock() as router:
        route = router.get(f"{tempo_url}/api/search").mock(side_effect=reset)
        async with client(sleeps, max_retries=2) as tempo:
            with pytest.raises(TempoConnectionError) as caught:
                await tempo.search("{}")
    assert route.call_count == 3 and len(sleeps.waits) == 2
    message = str(caught.value)
    assert "Connection reset by peer" in message and "broke (3 attempts)" in message
    assert "did not answer within" not in message  # not a timeout
