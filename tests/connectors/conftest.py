"""A Tempo client for the pull and sample tests: retries without waiting, at the test URL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.tempo import TempoClient
from connectors.tempo_retry import RetryPolicy

BASE = "http://tempo.test:3200"


async def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def client(tempo_client: Callable[..., TempoClient]) -> Callable[..., TempoClient]:
    def make(*, concurrency: int = 4, max_retries: int = 0) -> TempoClient:
        retry = RetryPolicy(max_retries=max_retries, sleep=no_sleep)
        return tempo_client(base_url=BASE, retry=retry, concurrency=concurrency)

    return make
