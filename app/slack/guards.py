"""What the bot refuses or skips before any listener runs: replayed requests and events
Slack delivers again.

Bolt verifies each HTTP request's signature and refuses one whose timestamp is more than five
minutes off, so a captured request can only be replayed within those five minutes; a replay
carries the very signature already seen and is refused (401). Slack delivers an event again
when it thinks the first delivery failed (``X-Slack-Retry-Num``, and over Socket Mode as a
new envelope); every delivery carries the event's ``event_id``, and an event already handled
is acknowledged and skipped, with ``X-Slack-No-Retry: 1`` to say that no more tries are
needed. Both remember a bounded number of keys for a bounded time: memory stays flat however
many requests arrive, and a process restart forgets, which at worst answers a retried event
once more.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from logging import Logger
from typing import Any

from slack_bolt import BoltRequest, BoltResponse

SIGNATURE_WINDOW_S = 5 * 60
"""Bolt refuses a request timestamped further from now than this (``SignatureVerifier``)."""
REMEMBERED_KEYS = 10_000
EVENT_MEMORY_S = 60 * 60
"""Slack retries an event three times: at once, after a minute, after five; an hour is ample."""

Next = Callable[[], Any]


class RecentKeys:
    """Keys seen lately: at most ``capacity``, none older than ``ttl_s``. Thread-safe."""

    def __init__(
        self, capacity: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._capacity = capacity
        self._ttl_s = ttl_s
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str) -> bool:
        """Remember ``key``; whether it was new (not seen within ``ttl_s``)."""
        now = self._clock()
        with self._lock:
            while self._seen:
                oldest, seen_at = next(iter(self._seen.items()))
                if now - seen_at < self._ttl_s and len(self._seen) < self._capacity:
                    break
                del self._seen[oldest]
            if key in self._seen:
                return False
            self._seen[key] = now
            return True

    def __len__(self) -> int:
        return len(self._seen)


def reject_replays(signatures: RecentKeys) -> Callable[..., BoltResponse | None]:
    """A Bolt middleware (after Bolt's signature check) refusing a signature seen before.

    A repeated event is let through to ``ignore_handled_events``: Slack may resend an event
    as it was, and skipping it there answers Slack with a 200 it will not retry.
    """

    def refuse_replayed_request(req: BoltRequest, body: dict[str, Any], next: Next) -> Any:
        if req.mode != "http":  # Socket Mode requests come unsigned over Slack's own socket
            return next()
        signature = req.headers.get("x-slack-signature", [""])[0]
        if signatures.add(signature) or body.get("type") == "event_callback":
            return next()
        return BoltResponse(status=401, body={"error": "replayed request"})

    return refuse_replayed_request


def ignore_handled_events(events: RecentKeys) -> Callable[..., BoltResponse | None]:
    """A Bolt middleware acknowledging, and not handling again, an event already handled."""

    def skip_handled_event(
        req: BoltRequest, body: dict[str, Any], logger: Logger, next: Next
    ) -> Any:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id or events.add(str(event_id)):
            return next()
        retry = req.headers.get("x-slack-retry-num", ["?"])[0]
        logger.info("event %s delivered again (retry %s): already handled", event_id, retry)
        return BoltResponse(status=200, body="", headers={"x-slack-no-retry": "1"})

    return skip_handled_event
