"""Limits in front of the app: request body size, and questions per minute per caller.

Bodies: a request that says (``Content-Length``) or turns out (while streaming) to be
larger than ``api_max_body_bytes`` is answered 413 without reading further. The OTLP
receiver has its own, larger limit, applied after decompression, and is left to it.

Questions: each caller (a token, or an address when Spanwise runs open) has a bucket of
``chat_requests_per_minute`` questions that refills evenly; an empty bucket answers 429
with the seconds until the next question is allowed in ``Retry-After``. The buckets of
callers not seen for a while are dropped, so memory stays bounded by active callers.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

from app.api.asgi import ASGIApp, Message, Receive, Scope, Send, send_error

_OWN_LIMIT = frozenset({"/v1/traces"})
_QUESTIONS = ("/api/chat",)
MAX_CALLERS = 10_000


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self._app = app
        self._max = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _OWN_LIMIT:
            await self._app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self._max:
                await _answer(send, 413, f"the body is larger than {self._max:,} bytes")
                return
        seen = 0
        started = refused = False

        async def counted_receive() -> Message:
            # Past the limit, answer 413 at once and tell the app the client has gone, so
            # that it stops reading; whatever it still sends is dropped.
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self._max and not refused:
                    refused = True
                    if not started:
                        await _answer(send, 413, f"the body is larger than {self._max:,} bytes")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self._app(scope, counted_receive, guarded_send)


class TokenBuckets:
    """``rate`` events per ``per_s`` for each key, in bursts of at most ``rate``."""

    def __init__(self, rate: int, per_s: float = 60.0) -> None:
        self._capacity = float(rate)
        self._refill_per_s = rate / per_s
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """0 when ``key`` may go on; else the seconds until it may."""
        now = time.monotonic() if now is None else now
        with self._lock:
            level, last = self._buckets.pop(key, (self._capacity, now))
            level = min(self._capacity, level + (now - last) * self._refill_per_s)
            if level >= 1.0:
                self._buckets[key] = (level - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (level, now)
                wait = (1.0 - level) / self._refill_per_s
            while len(self._buckets) > MAX_CALLERS:
                self._buckets.popitem(last=False)
        return wait


class QuestionRateLimit:
    def __init__(self, app: ASGIApp, per_minute: int) -> None:
        self._app = app
        self.buckets = TokenBuckets(per_minute)
        self._per_minute = per_minute

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(_QUESTIONS):
            caller = scope.get("state", {}).get("principal", "unknown")
            wait = self.buckets.take(caller)
            if wait > 0:
                await _answer(
                    send,
                    429,
                    f"more than {self._per_minute} questions a minute: "
                    f"ask again in {math.ceil(wait)} s",
                    retry_after=math.ceil(wait),
                )
                return
        await self._app(scope, receive, send)


async def _answer(send: Send, status: int, detail: str, retry_after: int | None = None) -> None:
    headers = [(b"retry-after", str(retry_after).encode())] if retry_after is not None else []
    await send_error(send, status, detail, headers)
