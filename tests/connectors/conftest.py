"""The pull and sample tests' Tempo: a client that retries without waiting, at the test URL,
and the window of the generator's first wave of traces."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import respx

from connectors.tempo import TempoClient
from connectors.tempo_retry import RetryPolicy

BASE = "http://tempo.test:3200"
WAVE1 = "manifest_wave1_seed42.json"
# Wave 1's 3000 traces start between 1795273815 and 1795274593, some 140 to 260 a minute,
# and last up to 5 s.
WINDOW = (1795273800, 1795274720)


def fake_http() -> respx.MockRouter:
    """respx at httpx's transport: a third faster than at httpcore, for thousands of calls."""
    return respx.mock(assert_all_called=False, using="httpx")


async def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def client(tempo_client: Callable[..., TempoClient]) -> Callable[..., TempoClient]:
    def make(*, concurrency: int = 4, max_retries: int = 0) -> TempoClient:
        retry = RetryPolicy(max_retries=max_retries, sleep=no_sleep)
        return tempo_client(base_url=BASE, retry=retry, concurrency=concurrency)

    return make
