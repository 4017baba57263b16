"""Tempo errors by kind, counted where every request to Tempo passes: its HTTP transport.

Each attempt counts (a 429 retried three times is three), which is what an operator
watching Tempo's health wants to see. Kinds: ``http_429``, ``http_4xx``, ``http_5xx``,
or the transport error's class (``ConnectTimeout``, ``ReadTimeout``, ``ConnectError``...).
"""

from __future__ import annotations

import httpx

from app.telemetry.metrics import TEMPO_ERRORS


def error_kind(status: int) -> str | None:
    if status == 429:
        return "http_429"
    if status >= 500:
        return "http_5xx"
    if status >= 400 and status != 404:  # a trace not found is an answer, not an error
        return "http_4xx"
    return None


class ErrorCountingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError as exc:
            TEMPO_ERRORS.labels(type(exc).__name__).inc()
            raise
        kind = error_kind(response.status_code)
        if kind is not None:
            TEMPO_ERRORS.labels(kind).inc()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
