"""When to try a Tempo request again, and how long to wait first.

Tempo's query frontend answers 429 when a tenant has too many queries queued and 5xx while
a querier restarts or a backend read fails; both usually pass within seconds. Waits grow
exponentially with jitter, so that the parallel fetches of a pull do not retry in lockstep,
and a ``Retry-After`` header (seconds or an HTTP date) takes precedence. The sleep, clock and
random source are injectable so that tests never wait.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime


def retry_after_s(value: str | None, *, now_s: float) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now_s)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    """Retries after the first attempt; 0 tries once."""
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_retry_after_s: float = 120.0
    """A server asking for a longer pause is waited on for this long only."""
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)

    @property
    def attempts(self) -> int:
        return self.max_retries + 1

    def delay_s(self, retry: int, retry_after: str | None = None) -> float:
        """The wait before retry number ``retry`` (0 for the first retry)."""
        hinted = retry_after_s(retry_after, now_s=self.clock())
        if hinted is not None:
            return min(hinted, self.max_retry_after_s)
        ceiling = min(self.max_delay_s, self.base_delay_s * 2**retry)
        return ceiling / 2 + self.random() * ceiling / 2

    async def wait(self, retry: int, retry_after: str | None = None) -> None:
        await self.sleep(self.delay_s(retry, retry_after))
